"""The API's own accept loop: a cap on connections, and no connection held idle.

aiohttp alone keeps a connection that never sends a request for ever (3.8, the
images' version) or for an hour (3.9+): ~1,000 idle TLS connections took every
descriptor of the master, whose minions then got no answer. So the API accepts its
connections itself and hands each to aiohttp's protocol through ``Guarded``:

- at most ``max_connections`` are open, counted from ``accept()`` (before the TLS
  handshake); one more is closed at once;
- the TLS handshake must end within ``header_timeout``, and then a request's headers
  must have arrived within ``header_timeout`` again;
- between requests a connection may idle ``idle_timeout``, then it is dropped. A
  request in progress (a stream, a long job) is never cut by these timers: the body
  has its own deadline (``BodyLimits.body_timeout``), streams their token's;
- accept errors (EMFILE when descriptors run out) are counted and logged at most once
  a minute, and accepting pauses a moment instead of spinning.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
import ssl
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from saltsim_master.config import MasterConfig

__all__ = ["ConnectionLimits", "Connections"]

log = logging.getLogger(__name__)

# accept() failures of one connection (retry at once); of the listening socket itself
# (stop accepting); anything else, e.g. EMFILE when descriptors run out: wait and retry.
_TRANSIENT = {errno.ECONNABORTED, errno.EPROTO, errno.EPERM, errno.EINTR}
_GONE = {errno.EBADF, errno.EINVAL, errno.ENOTSOCK}
_ACCEPT_PAUSE = 0.5
_LOG_EVERY = 60.0


@dataclass(frozen=True)
class ConnectionLimits:
    """The API's connection caps and timeouts (``api_max_connections``, ``api_*_timeout``)."""

    max_connections: int = 256
    header_timeout: float = 10.0
    idle_timeout: float = 30.0

    @classmethod
    def of(cls, config: MasterConfig) -> ConnectionLimits:
        return cls(config.api_max_connections, config.api_header_timeout, config.api_idle_timeout)


class _Throttled:
    """A warning per kind at most every ``_LOG_EVERY`` seconds, with the count since."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._last: dict[str, float] = {}
        self._since: Counter[str] = Counter()

    def warn(self, kind: str, message: str, *args: object) -> None:
        self._since[kind] += 1
        now = self._clock()
        if now - self._last.get(kind, -_LOG_EVERY) < _LOG_EVERY:
            return
        self._last[kind] = now
        count, self._since[kind] = self._since[kind], 0
        log.warning("REST API: %s (%d since the last warning)", message % args, count)


class Guarded(asyncio.Protocol):
    """aiohttp's protocol for one connection, behind a timer that drops it when idle."""

    def __init__(self, inner: asyncio.Protocol, owner: Connections) -> None:
        self.inner, self.owner = inner, owner
        self.transport: asyncio.Transport | None = None
        self.active = 0  # requests in progress
        self._timer: asyncio.TimerHandle | None = None
        self._released = False

    # -- the timer ------------------------------------------------------------------------
    def _arm(self, delay: float, why: str) -> None:
        self._disarm()
        loop = asyncio.get_running_loop()
        self._timer = loop.call_later(delay, self._expire, why)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _expire(self, why: str) -> None:
        self._timer = None
        if self.active == 0 and self.transport is not None and not self.transport.is_closing():
            self.owner.counts[why] += 1
            self.transport.abort()  # close() would wait for a TLS goodbye that may not come

    def request_started(self) -> None:
        self.active += 1
        self._disarm()

    def request_finished(self) -> None:
        self.active -= 1
        if self.active == 0 and self.transport is not None:
            self._arm(self.owner.limits.idle_timeout, "idle_closed")

    # -- asyncio.Protocol, passed on to aiohttp ----------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.owner.opened(self)
        self._arm(self.owner.limits.header_timeout, "header_timeouts")
        self.inner.connection_made(transport)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        self.owner.closed(self)
        self.inner.connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        self.inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self.inner.eof_received()

    def pause_writing(self) -> None:
        self.inner.pause_writing()

    def resume_writing(self) -> None:
        self.inner.resume_writing()


class Connections:
    """Accepts on a listening socket and serves each connection with ``factory()``."""

    def __init__(
        self,
        factory: Callable[[], asyncio.Protocol],
        limits: ConnectionLimits,
        ssl_context: ssl.SSLContext | None,
    ) -> None:
        self._factory, self.limits, self._ssl = factory, limits, ssl_context
        self.open = 0  # from accept() to connection_lost (or a failed handshake)
        self.counts: Counter[str] = Counter()
        self._guards: dict[asyncio.Transport, Guarded] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._accepting: asyncio.Task[None] | None = None
        self._log = _Throttled()

    def start(self, sock: socket.socket) -> None:
        self._accepting = asyncio.get_running_loop().create_task(self._accept(sock))

    async def _accept(self, sock: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                conn, _peer = await loop.sock_accept(sock)
            except OSError as exc:
                self.counts["accept_errors"] += 1
                if exc.errno in _GONE:
                    log.error("REST API: the listening socket failed (%s); not accepting", exc)
                    return
                if exc.errno not in _TRANSIENT:
                    self._log.warn("accept", "accept() failed: %s; pausing %ss", exc, _ACCEPT_PAUSE)
                    await asyncio.sleep(_ACCEPT_PAUSE)
                continue
            if self.open >= self.limits.max_connections:
                self.counts["refused"] += 1
                self._log.warn(
                    "cap", "%d connections open (api_max_connections): closing new ones", self.open
                )
                conn.close()
                continue
            self.open += 1
            task = loop.create_task(self._serve(conn))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _serve(self, conn: socket.socket) -> None:
        """Hand ``conn`` to aiohttp once its TLS handshake is done (within the timeout)."""
        guard: list[Guarded] = []

        def protocol() -> Guarded:
            guard.append(Guarded(self._factory(), self))
            return guard[0]

        timeout = self.limits.header_timeout if self._ssl is not None else None
        try:
            await asyncio.get_running_loop().connect_accepted_socket(
                protocol, conn, ssl=self._ssl, ssl_handshake_timeout=timeout
            )
        except (OSError, asyncio.CancelledError) as exc:  # ssl.SSLError is an OSError
            conn.close()
            if not guard or not guard[0]._released:
                self.counts["handshake_failures"] += 1
                self._release(guard[0] if guard else None)
            if isinstance(exc, asyncio.CancelledError):
                raise

    # -- bookkeeping ------------------------------------------------------------------------
    def opened(self, guard: Guarded) -> None:
        assert guard.transport is not None
        self._guards[guard.transport] = guard

    def closed(self, guard: Guarded) -> None:
        if guard.transport is not None:
            self._guards.pop(guard.transport, None)
        self._release(guard)

    def _release(self, guard: Guarded | None) -> None:
        if guard is not None:
            if guard._released:
                return
            guard._released = True
        self.open -= 1

    @contextmanager
    def request(self, transport: asyncio.Transport | None) -> Iterator[None]:
        """Marks a request in progress on its connection, so no idle timer cuts it."""
        guard = self._guards.get(transport) if transport is not None else None
        if guard is None:
            yield
            return
        guard.request_started()
        try:
            yield
        finally:
            guard.request_finished()

    async def stop(self) -> None:
        """Stop accepting and drop connections still in their handshake."""
        if self._accepting is not None:
            self._accepting.cancel()
            self._accepting = None
        for task in list(self._tasks):
            task.cancel()

    def abort_all(self) -> None:
        """Drop every connection still open (after aiohttp's own shutdown)."""
        for transport in list(self._guards):
            transport.abort()

    def stats(self) -> dict[str, Any]:
        return {"open": self.open, **dict(self.counts)}
