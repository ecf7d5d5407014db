"""``AsyncRemoteEventClient``: ``AsyncEventClient``'s API over the REST API's ``/events``."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from typing import Any

from saltsim.asyncclient import AsyncEventClient
from saltsim.client import _LATE_FRAMES, READY_TAG
from saltsim.deadline import Deadline
from saltsim.errors import EventTimeoutError
from saltsim.event import Event
from saltsim.reader import AsyncEventReader
from saltsim.remote._base import RemoteBase
from saltsim.remote._errors import NotSupportedError
from saltsim.remote._stream import EventStream, Item
from saltsim.remote._sync import NO_FIRE
from saltsim.tags import compile_matcher

__all__ = ["AsyncRemoteEventClient"]


class AsyncRemoteEventClient(RemoteBase, AsyncEventReader):
    """Listen to a master over its REST API from asyncio code; ``async with`` closes it.

    The same arguments as ``RemoteEventClient``. The stream is read by a task started on
    ``async with`` (or the first wait) into a bounded queue.
    """

    def _timeout_hint(self) -> str:
        state = self.connect().last_error or "open, no error"
        return f"stream {self.settings.endpoint('events')}: {state}"

    def _open(self) -> None:
        self._queue: asyncio.Queue[Item] | None = None
        self._changed: asyncio.Event | None = None
        self._stream: EventStream | None = None
        self._task: asyncio.Task[None] | None = None
        self._fire: AsyncEventClient | None = None

    # -- the stream ----------------------------------------------------------------
    def connect(self) -> EventStream:
        """Start reading the stream (needs a running loop); idempotent."""
        if self._stream is None:
            self._queue = asyncio.Queue(self._hwm)
            self._changed = asyncio.Event()
            self._stream = EventStream(self.settings, self._queue.put, self._changed.set)
            self._task = asyncio.get_running_loop().create_task(self._stream.run())
        return self._stream

    def close(self) -> None:
        """Stop reading (the task ends at its next step); ``aclose`` also waits for it."""
        if self._task is not None:
            self._task.cancel()
        if self._fire is not None:
            self._fire.close()
            self._fire = None

    async def aclose(self) -> None:
        task = self._task
        self.close()
        if task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def __aenter__(self) -> AsyncRemoteEventClient:
        self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- firing --------------------------------------------------------------------
    async def fire_event(self, data: dict[Any, Any], tag: str) -> bool:
        """Push onto the bus through ``pull_address``; ``NotSupportedError`` without one."""
        if self.pull_address is None:
            raise NotSupportedError(NO_FIRE)
        if self._fire is None:
            self._fire = AsyncEventClient(pull_address=self.pull_address, listen=False)
        return await self._fire.fire_event(data, tag)

    # -- listening -----------------------------------------------------------------
    async def next_event(
        self, wait: float = 5, tag: str = "", match_type: str | None = None
    ) -> Event | None:
        match = compile_matcher(tag, match_type)
        event = self._intake.core.take_pending(match)
        if event is not None:
            return event
        self._intake.check()
        self.connect()
        assert self._queue is not None
        deadline = Deadline(wait)
        late = _LATE_FRAMES
        while True:
            remaining = deadline.remaining()
            if remaining > 0:
                try:
                    async with asyncio.timeout(remaining):
                        item = await self._queue.get()
                except TimeoutError:
                    continue
            elif late > 0 and not self._queue.empty():
                late -= 1
                item = self._queue.get_nowait()
            else:
                return None
            event = self._intake.take(item, match)
            if event is not None:
                return event

    async def wait_ready(self, timeout: float = 10) -> None:
        """As ``RemoteEventClient.wait_ready``."""
        stream = self.connect()
        assert self._changed is not None
        deadline = Deadline(timeout)
        while True:
            self._changed.clear()
            if stream.connected:
                break
            if stream.fatal is not None:
                raise stream.fatal
            remaining = deadline.remaining()
            if remaining <= 0:
                raise EventTimeoutError(
                    f"the stream {self.settings.endpoint('events')} to open",
                    timeout,
                    [],
                    f"last error: {stream.last_error or 'none'}",
                )
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(remaining):
                    await self._changed.wait()
        if self.pull_address is None:
            return
        probe = f"{READY_TAG}/{uuid.uuid4().hex}"
        while not deadline.expired:
            if await self.fire_event({"probe": probe}, probe) and await self.next_event(
                0.05, probe
            ):
                return
        raise EventTimeoutError(probe, timeout, [], f"is {self.pull_address} this master's bus?")

    # -- accounting ----------------------------------------------------------------
    @property
    def connected(self) -> bool:
        return self._stream is not None and self._stream.connected

    @property
    def reconnects(self) -> int:
        return self._stream.reconnects if self._stream is not None else 0
