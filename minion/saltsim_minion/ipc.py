"""The minion's local event socket (Salt's minion IPC, as ``salt-call event.send`` uses it).

A local process asks the minion to fire an event; the minion makes the requests a
``salt-call event.send`` makes (``saltcall.py``: sign-in, data refresh, the event as its
own authenticated ``_minion_event``, the return under a jid of its own), and the caller
gets the master's verdict. Protocol and socket location: ``saltsim.minionipc``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import zmq
import zmq.asyncio

from saltsim.errors import FrameError
from saltsim.minionipc import parse_request
from saltsim.wire import encode_data
from saltsim_minion import saltcall

if TYPE_CHECKING:
    from saltsim_minion.minion import Minion

__all__ = ["LocalEvents"]

log = logging.getLogger(__name__)


class LocalEvents:
    """Serves fire requests on ``ipc://<path>`` for one minion; ``close()`` removes it."""

    def __init__(self, minion: Minion, context: zmq.asyncio.Context, path: Path) -> None:
        self.minion = minion
        self.path = path
        self.refused = 0  # requests refused: malformed, reserved tag, no master (logged once)
        self._context = context
        self._sock: zmq.asyncio.Socket | None = None
        self._task: asyncio.Task[None] | None = None
        self._handlers: set[asyncio.Task[None]] = set()

    def start(self) -> bool:
        """Bind (replacing a stale socket file) and serve; False, logged, when it cannot."""
        sock = self._context.socket(zmq.ROUTER)
        sock.setsockopt(zmq.LINGER, 0)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            sock.bind(f"ipc://{self.path}")
            os.chmod(self.path, 0o600)  # only the minion's user may fire as the minion
        except (OSError, zmq.ZMQError) as exc:
            sock.close(0)
            log.warning("no local event socket at %s: %s", self.path, exc)
            return False
        self._sock = sock
        self._task = asyncio.create_task(self._serve(sock))
        log.info("local event socket at %s", self.path)
        return True

    def close(self) -> None:
        for task in (self._task, *self._handlers):
            if task is not None:
                task.cancel()
        if self._sock is not None:
            self._sock.close(0)
            self._sock = None
            with contextlib.suppress(OSError):
                self.path.unlink()

    async def _serve(self, sock: zmq.asyncio.Socket) -> None:
        while True:
            frames = await sock.recv_multipart()
            if len(frames) < 2:
                self._count("a request without a peer")
                continue  # nobody to answer
            # a DEALER's request is [peer, body], a REQ's [peer, b"", body]: answer in kind
            task = asyncio.create_task(self._answer(sock, frames[:-1], frames[-1]))
            self._handlers.add(task)
            task.add_done_callback(self._handlers.discard)

    async def _answer(self, sock: zmq.asyncio.Socket, envelope: list[bytes], body: bytes) -> None:
        reply = await self._fire(body)
        if not reply.get("ok"):
            self._count(reply["error"])
        with contextlib.suppress(zmq.ZMQError):
            await sock.send_multipart([*envelope, encode_data(reply)])

    def _count(self, problem: str) -> None:
        self.refused += 1
        if self.refused == 1:
            log.warning("local event socket: %s; further refusals only counted", problem)

    async def _fire(self, body: bytes) -> dict[str, Any]:
        minion_id = self.minion.config.id
        try:
            tag, data, fun_args = parse_request(body)
        except FrameError as exc:
            return {"ok": False, "error": f"bad request: {exc}"}
        if not self.minion.started.is_set():
            return {"ok": False, "error": f"minion {minion_id} is not signed in to its master yet"}
        if not self.minion.awake:
            # salt-call would pend at its sign-in: refuse rather than make the daemon pend
            return {"ok": False, "error": f"the master holds no accepted key for {minion_id}"}
        try:
            config = self.minion.config
            # bounded: a key deleted meanwhile would keep the sign-in pending for ever
            async with asyncio.timeout(4 * config.request_timeout + config.acceptance_wait_time):
                answer = await saltcall.event_send(self.minion, tag, data, fun_args)
        except TimeoutError:
            master = self.minion.config.address(self.minion.config.master_port)
            return {"ok": False, "error": f"no answer from the master at {master}"}
        except Exception as exc:  # a refusal, a lost session, a rejected key: tell the caller
            return {"ok": False, "error": f"the master did not take the event: {exc}"}
        return {"ok": True, "id": minion_id, "jid": answer.get("jid")}
