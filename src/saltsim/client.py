"""The synchronous event client, in the spirit of ``salt.utils.event.SaltEvent``.

``fire_event`` pushes into the bus's PULL socket; ``get_event``/``iter_events``
read its PUB socket. ``get_event(full=False)`` returns the payload dict as Salt
does; ``full=True`` returns an ``Event`` (which also answers ``ev["tag"]`` and
``ev["data"]``).
"""

from __future__ import annotations

import uuid
from typing import Any

import zmq

from saltsim.config import BusConfig
from saltsim.curve import CurveClient
from saltsim.deadline import Deadline
from saltsim.errors import EventTimeoutError
from saltsim.event import Event
from saltsim.listener import ListenerCore
from saltsim.reader import EventReader
from saltsim.tags import compile_matcher
from saltsim.wire import pack_frame

__all__ = ["EventClient", "bus_addresses"]

READY_TAG = "saltsim/listener/ready"
SENTINEL_TAG = "saltsim/listener/sentinel"
# Frames already queued that a wait still examines after its deadline (bounds no_block).
_LATE_FRAMES = 1000


def bus_addresses(pub_address: str, pull_address: str) -> tuple[str, str]:
    """Empty addresses mean the default master's bus (``ipc://`` in its sock_dir)."""
    if pub_address and pull_address:
        return pub_address, pull_address
    defaults = BusConfig()
    return pub_address or defaults.pub_address, pull_address or defaults.pull_address


class EventClient(EventReader):
    """Fire onto and listen to one bus. A context manager; owns the sockets it makes."""

    def _listener_core(self) -> ListenerCore:
        return self._core

    def __init__(
        self,
        pub_address: str = "",
        pull_address: str = "",
        *,
        listen: bool = True,
        context: zmq.Context[Any] | None = None,
        fire_timeout: float = 5.0,
        hwm: int = 10_000,
        pending_max: int = 10_000,
        curve: CurveClient | None = None,
    ) -> None:
        """``curve``: keys for a bus reached over TCP with CURVE (a master container's)."""
        self.pub_address, self.pull_address = bus_addresses(pub_address, pull_address)
        self.curve = curve
        self._own_context = context is None
        self._context = context or zmq.Context()
        self._fire_timeout_ms = int(fire_timeout * 1000)
        self._hwm = hwm
        self._core = ListenerCore(pending_max)
        self._sub: zmq.Socket[Any] | None = None
        self._push: zmq.Socket[Any] | None = None
        if listen:
            self.connect_pub()

    # -- sockets -------------------------------------------------------------------
    def connect_pub(self) -> None:
        if self._sub is None:
            sub = self._context.socket(zmq.SUB)
            sub.setsockopt(zmq.LINGER, 0)
            sub.setsockopt(zmq.RCVHWM, self._hwm)
            sub.setsockopt(zmq.SUBSCRIBE, b"")
            if self.curve is not None:
                self.curve.apply(sub)
            sub.connect(self.pub_address)
            self._sub = sub

    def connect_pull(self) -> None:
        if self._push is None:
            push = self._context.socket(zmq.PUSH)
            push.setsockopt(zmq.LINGER, self._fire_timeout_ms)
            push.setsockopt(zmq.SNDHWM, self._hwm)
            push.setsockopt(zmq.SNDTIMEO, self._fire_timeout_ms)
            if self.curve is not None:
                self.curve.apply(push)
            push.connect(self.pull_address)
            self._push = push

    def close(self) -> None:
        for sock in (self._sub, self._push):
            if sock is not None:
                sock.close()
        self._sub = self._push = None
        if self._own_context:
            self._context.term()
            self._own_context = False

    def __enter__(self) -> EventClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- firing --------------------------------------------------------------------
    def fire_event(self, data: dict[Any, Any], tag: str) -> bool:
        """Send one event to the bus; ``ValueError`` for a bad tag or payload.

        Returns False when the bus did not take the event within ``fire_timeout``.
        """
        frame = pack_frame(tag, data)
        self.connect_pull()
        assert self._push is not None
        try:
            self._push.send(frame)
        except zmq.Again:
            return False
        return True

    # -- listening -----------------------------------------------------------------
    def next_event(
        self, wait: float = 5, tag: str = "", match_type: str | None = None
    ) -> Event | None:
        """The next matching ``Event`` within ``wait`` seconds, or None."""
        self.connect_pub()
        assert self._sub is not None
        match = compile_matcher(tag, match_type)
        event = self._core.take_pending(match)
        if event is not None:
            return event
        # Fast path: a frame already queued needs neither a clock read nor a poll.
        try:
            event = self._core.accept(self._sub.recv(zmq.NOBLOCK), match)
        except zmq.Again:
            pass
        else:
            if event is not None:
                return event
        deadline = Deadline(wait)
        late = _LATE_FRAMES
        while True:
            remaining = deadline.remaining()
            if remaining > 0:
                if not self._sub.poll(int(remaining * 1000) + 1):
                    continue
            elif late == 0 or not self._sub.poll(0):
                return None
            else:
                late -= 1
            event = self._core.accept(self._sub.recv(), match)
            if event is not None:
                return event

    def collect(self, timeout: float = 10) -> list[Event]:
        """Every event published on the bus before this call and not yet taken, in bus order.

        Fires a sentinel and reads (kept events first) until it comes back, so an
        assertion of absence ("no salt/key event happened") has a definite end.
        """
        sentinel = f"{SENTINEL_TAG}/{uuid.uuid4().hex}"
        if not self.fire_event({}, sentinel):
            raise EventTimeoutError(sentinel, timeout, [], f"no bus at {self.pull_address}?")
        seen: list[Event] = []
        deadline = Deadline(timeout)
        while (remaining := deadline.remaining()) > 0:
            event = self.next_event(remaining)
            if event is None:
                break
            if event.tag == sentinel:
                return seen
            seen.append(event)
        raise EventTimeoutError(sentinel, timeout, [e.tag for e in seen])

    def wait_ready(self, timeout: float = 10) -> None:
        """Block until this listener provably receives from the bus (slow-joiner guard).

        Fires a probe event every 50 ms until one comes back on the SUB socket.
        """
        probe = f"{READY_TAG}/{uuid.uuid4().hex}"
        deadline = Deadline(timeout)
        while not deadline.expired:
            if not self.fire_event({"probe": probe}, probe):
                continue
            if self.next_event(0.05, probe) is not None:
                return
        raise EventTimeoutError(probe, timeout, [], f"is a bus serving {self.pub_address}?")

    # -- accounting ----------------------------------------------------------------
