"""The asyncio event client: the same names as ``EventClient``, as coroutines."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import zmq
import zmq.asyncio

from saltsim.client import _LATE_FRAMES, READY_TAG, bus_addresses
from saltsim.curve import CurveClient
from saltsim.deadline import Deadline
from saltsim.errors import EventTimeoutError
from saltsim.event import Event
from saltsim.listener import ListenerCore
from saltsim.reader import AsyncEventReader
from saltsim.tags import compile_matcher
from saltsim.wire import pack_frame

__all__ = ["AsyncEventClient"]


class AsyncEventClient(AsyncEventReader):
    """Fire onto and listen to one bus from asyncio code. ``async with`` closes it."""

    def _listener_core(self) -> ListenerCore:
        return self._core

    def __init__(
        self,
        pub_address: str = "",
        pull_address: str = "",
        *,
        listen: bool = True,
        context: zmq.asyncio.Context | None = None,
        fire_timeout: float = 5.0,
        hwm: int = 10_000,
        pending_max: int = 10_000,
        curve: CurveClient | None = None,
    ) -> None:
        self.pub_address, self.pull_address = bus_addresses(pub_address, pull_address)
        self.curve = curve
        self._own_context = context is None
        self._context = context or zmq.asyncio.Context()
        self._fire_timeout = fire_timeout
        self._hwm = hwm
        self._core = ListenerCore(pending_max)
        self._sub: zmq.asyncio.Socket | None = None
        self._push: zmq.asyncio.Socket | None = None
        if listen:
            self.connect_pub()

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
            push.setsockopt(zmq.LINGER, int(self._fire_timeout * 1000))
            push.setsockopt(zmq.SNDHWM, self._hwm)
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

    async def __aenter__(self) -> AsyncEventClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()

    async def fire_event(self, data: dict[Any, Any], tag: str) -> bool:
        """Send one event; False when the bus did not take it within ``fire_timeout``."""
        frame = pack_frame(tag, data)
        self.connect_pull()
        assert self._push is not None
        try:
            await asyncio.wait_for(self._push.send(frame), self._fire_timeout)
        except TimeoutError:
            return False
        return True

    async def next_event(
        self, wait: float = 5, tag: str = "", match_type: str | None = None
    ) -> Event | None:
        self.connect_pub()
        assert self._sub is not None
        match = compile_matcher(tag, match_type)
        event = self._core.take_pending(match)
        if event is not None:
            return event
        deadline = Deadline(wait)
        late = _LATE_FRAMES
        while True:
            remaining = deadline.remaining()
            if remaining > 0:
                if not await self._sub.poll(int(remaining * 1000) + 1):
                    continue
            elif late == 0 or not await self._sub.poll(0):
                return None
            else:
                late -= 1
            event = self._core.accept(await self._sub.recv(), match)
            if event is not None:
                return event

    async def wait_ready(self, timeout: float = 10) -> None:
        probe = f"{READY_TAG}/{uuid.uuid4().hex}"
        deadline = Deadline(timeout)
        while not deadline.expired:
            if await self.fire_event({"probe": probe}, probe) and await self.next_event(
                0.05, probe
            ):
                return
        raise EventTimeoutError(probe, timeout, [], f"is a bus serving {self.pub_address}?")
