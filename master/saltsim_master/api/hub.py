"""One subscriber to the master bus feeds every SSE and WebSocket client.

The hub's SUB socket is opened when the first stream arrives, not at start: a new bus
with ``bus_hold`` waits for a first listener, and that must be a real one (a recorder,
a stream), not the API idling. The hub arms itself by firing a probe through the
master's one publish path (``saltsim/api/ready/<uuid>``) and seeing it come back, so a
stream that has received ``retry: 400`` provably receives what is fired next.

Probes are not events of the system under test: the hub's own and those every bus
listener fires to prove it receives (``saltsim/listener/ready/<uuid>``, two per
``saltsim cmd``) are kept off the streams, as Salt's bus has no such events. A client
that proves its own stream that way (``saltsim.remote`` with a bus ``pull_address``)
asks for them with ``?probes=true``.

Each client has a bounded queue (``api_client_queue``). The hub only ever puts without
waiting: a client whose queue is full loses the event (counted per client and in
total), and when its queue has room again it receives ``saltsim/api/dropped``
``{"dropped": N}`` exactly where the gap is. A slow client never holds up the bus,
the hub or the other clients.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Callable
from typing import Any

import zmq
import zmq.asyncio

from saltsim.client import READY_TAG as LISTENER_READY_TAG
from saltsim.deadline import Deadline
from saltsim.listener import ListenerCore
from saltsim_master.api.subscriber import Outgoing, Subscriber

__all__ = ["PROBE_PREFIXES", "READY_TAG", "EventHub"]

log = logging.getLogger(__name__)

READY_TAG = "saltsim/api/ready"
# Tags of probes, shown only to the streams that ask for them (``?probes=true``).
PROBE_PREFIXES = (f"{READY_TAG}/", f"{LISTENER_READY_TAG}/")
# Frames handled back to back before the hub lets the streams' writers run.
_BATCH = 32


class EventHub:
    """The API's one bus subscriber, fanning each event out to every stream's queue."""

    def __init__(
        self,
        context: zmq.asyncio.Context,
        address: str,
        fire: Callable[[str, dict[str, Any]], None],
        *,
        queue_size: int,
        hwm: int,
    ) -> None:
        self._context, self._address, self._fire = context, address, fire
        self._queue_size, self._hwm = queue_size, hwm
        self._core = ListenerCore(pending_max=1)
        self._sub: zmq.asyncio.Socket | None = None
        self._reader: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self.subscribers: set[Subscriber] = set()
        self.events = 0
        self.probes = 0  # probe events seen (kept off the streams that did not ask)
        self.dropped = 0
        # Events sent in safejson's form (bytes keys, deep nesting) and events skipped
        # because even that failed: counted, logged at most once a minute.
        self.made_safe = 0
        self.skipped = 0
        self._skip_logged = 0.0

    async def start(self, timeout: float = 10.0) -> None:
        """Subscribe to the bus and arm, once; later calls return at once."""
        async with self._lock:
            if self._reader is not None:
                return
            sub = self._context.socket(zmq.SUB)
            sub.setsockopt(zmq.LINGER, 0)
            sub.setsockopt(zmq.RCVHWM, self._hwm)
            sub.setsockopt(zmq.SUBSCRIBE, b"")
            sub.connect(self._address)
            self._sub = sub
            try:
                await self._arm(sub, timeout)
            except BaseException:
                self._sub = None
                sub.close(0)
                raise
            self._reader = asyncio.create_task(self._read(sub))
            self._reader.add_done_callback(self._reader_done)

    def _reader_done(self, task: asyncio.Task[None]) -> None:
        """A reader that failed ends the streams; the next stream subscribes afresh."""
        if task.cancelled() or task.exception() is None:
            return
        log.error("the API's bus reader stopped", exc_info=task.exception())
        for subscriber in list(self.subscribers):
            subscriber.end("the API's bus reader stopped")
        if self._reader is task:
            self._reader = None
            if self._sub is not None:
                self._sub.close(0)
                self._sub = None

    async def _arm(self, sub: zmq.asyncio.Socket, timeout: float) -> None:
        probe = f"{READY_TAG}/{uuid.uuid4().hex}"
        deadline = Deadline(timeout)
        while not deadline.expired:
            self._fire(probe, {"probe": probe})
            window = Deadline(0.1)  # then fire again: the first probe may precede the SUB
            while not window.expired:
                if not await sub.poll(100):
                    break
                event = self._core.decode(await sub.recv())
                if event is not None and event.tag == probe:
                    return
        raise TimeoutError(f"the API's bus listener saw no probe of its own within {timeout}s")

    async def _read(self, sub: zmq.asyncio.Socket) -> None:
        handled = 0
        while True:
            frame = await sub.recv()
            try:
                self._handle(frame)
            except Exception as exc:  # one event never ends every stream
                self.skipped += 1
                if self.skipped == 1 or time.monotonic() - self._skip_logged > 60:
                    self._skip_logged = time.monotonic()
                    log.warning("API streams skipped an event they could not send (%r)", exc)
            handled += 1
            if handled % _BATCH == 0:
                await asyncio.sleep(0)  # a ready recv() does not yield: let writers run

    def _handle(self, frame: bytes) -> None:
        event = self._core.decode(frame)
        if event is None:
            return
        self.events += 1
        probe = event.tag.startswith(PROBE_PREFIXES)
        if probe:
            self.probes += 1
        wanted = [s for s in self.subscribers if s.probes or not probe]
        if wanted:
            out, made_safe = Outgoing.made(event.tag, event.full)
            self.made_safe += made_safe
            for subscriber in wanted:
                subscriber.offer(out)

    def subscribe(
        self, kind: str, token: str, user: str, peer: str, *, probes: bool = False
    ) -> Subscriber:
        """A new stream's queue; ``probes``: it also receives the probe events."""
        subscriber = Subscriber(kind, token, user, peer, self._queue_size, self._count_drop)
        subscriber.probes = probes
        self.subscribers.add(subscriber)
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        self.subscribers.discard(subscriber)

    def _count_drop(self) -> None:
        self.dropped += 1

    def end_token(self, token: str, reason: str) -> None:
        for subscriber in list(self.subscribers):
            if subscriber.token == token:
                subscriber.end(reason)

    def close(self) -> None:
        for subscriber in list(self.subscribers):
            subscriber.end("the master is stopping")
        if self._reader is not None:
            with contextlib.suppress(RuntimeError):  # its loop may be gone already
                self._reader.cancel()
            self._reader = None
        if self._sub is not None:
            self._sub.close(0)
            self._sub = None

    def stats(self) -> dict[str, Any]:
        counters = self._core.counters
        return {
            "listening": self._reader is not None,
            "clients": [s.as_dict() for s in self.subscribers],
            "events": self.events,
            "probes": self.probes,
            "dropped": self.dropped,
            "bus_lost": counters.lost,
            "bad_frames": counters.bad_frames,
            "made_safe": self.made_safe,
            "skipped": self.skipped,
        }
