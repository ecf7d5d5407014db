"""``RemoteEventClient``: ``EventClient``'s API over the REST API's ``/events`` stream.

The stream is read by an asyncio loop in a daemon thread (httpx-sse) into a bounded
queue; ``get_event`` and friends take from it with the local client's semantics. When
the caller stops reading, the queue fills and the thread stops reading the socket, so the
server's own bounded per-client queue takes over (and tells, and ``_seq`` shows, loss).
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
import uuid
from typing import Any

from saltsim.client import _LATE_FRAMES, READY_TAG, EventClient
from saltsim.deadline import Deadline
from saltsim.errors import EventTimeoutError
from saltsim.event import Event
from saltsim.reader import EventReader
from saltsim.remote._base import RemoteBase
from saltsim.remote._errors import NotSupportedError
from saltsim.remote._stream import EventStream, Item
from saltsim.tags import compile_matcher

__all__ = ["RemoteEventClient"]

NO_FIRE = (
    "the REST API fires only salt/netapi/hook/<path> events (POST /hook/<path>); to fire "
    "arbitrary tags, give the client the master's bus PULL port: "
    "pull_address='tcp://HOST:4513'"
)


class RemoteEventClient(RemoteBase, EventReader):
    """Listen to a master over its REST API; a context manager, like ``EventClient``.

    Authenticate with ``token`` or ``username``/``password`` (``POST /login``, repeated
    when the token expires). ``verify=False`` accepts the master's self-signed certificate.
    ``fire_event`` needs ``pull_address`` (the bus PULL port); without it it raises
    ``NotSupportedError``.
    """

    def _timeout_hint(self) -> str:
        state = self._stream.last_error or "open, no error"
        return f"stream {self.settings.endpoint('events')}: {state}"

    def _open(self) -> None:
        self._queue: queue.Queue[Item] = queue.Queue(self._hwm)
        self._changed = threading.Event()
        self._stream = EventStream(self.settings, self._put, self._changed.set)
        self._closing = False
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._fire: EventClient | None = None
        self.connect()

    # -- the stream ----------------------------------------------------------------
    def connect(self) -> None:
        """Start reading the stream (the constructor does); idempotent."""
        if self._thread is not None:
            return
        started = threading.Event()
        self._thread = threading.Thread(
            target=self._run, args=(started,), name="saltsim-remote-events", daemon=True
        )
        self._thread.start()
        started.wait()

    def _run(self, started: threading.Event) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._task = loop.create_task(self._stream.run())
        started.set()
        try:
            with contextlib.suppress(asyncio.CancelledError):
                loop.run_until_complete(self._task)
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def _put(self, item: Item) -> None:
        while not self._closing:
            try:
                self._queue.put_nowait(item)
                return
            except queue.Full:
                await asyncio.sleep(0.01)  # the caller is behind: hold the stream

    def close(self) -> None:
        self._closing = True
        if self._loop is not None and self._task is not None:
            with contextlib.suppress(RuntimeError):  # the loop already ended
                self._loop.call_soon_threadsafe(self._task.cancel)
        if self._thread is not None:
            self._thread.join(10)
        if self._fire is not None:
            self._fire.close()
            self._fire = None

    def __enter__(self) -> RemoteEventClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- firing --------------------------------------------------------------------
    def fire_event(self, data: dict[Any, Any], tag: str) -> bool:
        """Push onto the bus through ``pull_address``; ``NotSupportedError`` without one."""
        if self.pull_address is None:
            raise NotSupportedError(NO_FIRE)
        if self._fire is None:
            self._fire = EventClient(pull_address=self.pull_address, listen=False)
        return self._fire.fire_event(data, tag)

    # -- listening -----------------------------------------------------------------
    def next_event(
        self, wait: float = 5, tag: str = "", match_type: str | None = None
    ) -> Event | None:
        """The next matching ``Event`` within ``wait`` seconds, or None; ``RemoteError``
        (``RemoteAuthError``) once the API refused the stream for good."""
        match = compile_matcher(tag, match_type)
        event = self._intake.core.take_pending(match)
        if event is not None:
            return event
        self._intake.check()
        deadline = Deadline(wait)
        late = _LATE_FRAMES
        while True:
            remaining = deadline.remaining()
            try:
                if remaining > 0:
                    item = self._queue.get(timeout=remaining)
                elif late > 0:
                    late -= 1
                    item = self._queue.get_nowait()
                else:
                    return None
            except queue.Empty:
                if remaining > 0:
                    continue
                return None
            event = self._intake.take(item, match)
            if event is not None:
                return event

    def wait_ready(self, timeout: float = 10) -> None:
        """Block until the stream is open; with ``pull_address``, until a probe fired on
        the bus has come back through it (the listener provably receives)."""
        deadline = Deadline(timeout)
        while True:
            self._changed.clear()
            if self._stream.connected:
                break
            if self._stream.fatal is not None:
                raise self._stream.fatal
            remaining = deadline.remaining()
            if remaining <= 0:
                raise EventTimeoutError(
                    f"the stream {self.settings.endpoint('events')} to open",
                    timeout,
                    [],
                    f"last error: {self._stream.last_error or 'none'}",
                )
            self._changed.wait(remaining)
        if self.pull_address is None:
            return
        probe = f"{READY_TAG}/{uuid.uuid4().hex}"
        while not deadline.expired:
            if self.fire_event({"probe": probe}, probe) and self.next_event(0.05, probe):
                return
        raise EventTimeoutError(probe, timeout, [], f"is {self.pull_address} this master's bus?")

    # -- accounting ----------------------------------------------------------------
    @property
    def connected(self) -> bool:
        return self._stream.connected

    @property
    def reconnects(self) -> int:
        return self._stream.reconnects
