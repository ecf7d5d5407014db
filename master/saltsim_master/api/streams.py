"""``GET /events`` (Server-Sent Events) and ``GET /ws`` (WebSocket): the bus, streamed.

SSE is written as salt-api's rest_cherrypy writes it: ``retry: 400`` and a newline once,
then per event ``tag: <tag>``, ``data: {"data": <payload>, "tag": <tag>}`` and a blank
line. The WebSocket sends one JSON text message per event, the same ``{"data", "tag"}``.

Probe events (``saltsim/listener/ready/<uuid>``, ``saltsim/api/ready/<uuid>``) are left
out unless the request says ``?probes=true`` (see ``hub``).

A stream ends (SSE: the chunked body is closed; WebSocket: close code 1001 with the
reason) when its token expires or is logged out, when the master stops, or when the
client goes away. A client that stopped reading is cut off at those moments too: every
wait, including a write blocked on a full socket, is under the token's deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable

from aiohttp import web

from saltsim_master.api.errors import BadRequest
from saltsim_master.api.hub import EventHub
from saltsim_master.api.subscriber import Outgoing, Subscriber
from saltsim_master.api.tokens import Token, Tokens

__all__ = ["RETRY", "Streams", "sse_block", "wants_probes"]

RETRY = b"retry: 400\n"
# How often an idle stream checks that its client is still connected and its token alive.
_IDLE_CHECK = 2.0
# How long a finished stream waits to close politely before dropping the connection.
_CLOSE_WAIT = 0.5
_WS_GOING_AWAY = 1001

Send = Callable[[Outgoing], Awaitable[None]]


def sse_block(out: Outgoing) -> bytes:
    # A tag may hold a single newline (only "\n\n" is refused): keep the field on one line.
    tag = out.tag.replace("\r", "\\r").replace("\n", "\\n")
    return f"tag: {tag}\ndata: {out.text}\n\n".encode()


def _peer(request: web.Request) -> str:
    """``address:port`` of the client, so ``/stats`` tells two clients of one host apart."""
    peer = request.transport.get_extra_info("peername") if request.transport else None
    if isinstance(peer, tuple) and len(peer) >= 2:
        return f"{peer[0]}:{peer[1]}"
    return request.remote or ""


_YES, _NO = ("1", "true", "yes", "on"), ("", "0", "false", "no", "off")


def wants_probes(request: web.Request) -> bool:
    """``?probes=true``: the stream also carries the probe events; ``BadRequest`` for a
    value that is neither yes nor no."""
    value = request.query.get("probes", "").lower()
    if value not in _YES + _NO:
        raise BadRequest(f"probes must be true or false, not {value!r}")
    return value in _YES


def _abort(request: web.Request) -> None:
    transport = request.transport
    if transport is not None:
        transport.abort()


class Streams:
    """``/events`` (SSE) and ``/ws`` (WebSocket): a subscriber of the hub per client,
    written until its token ends, the client goes or the master stops."""

    def __init__(self, hub: EventHub, tokens: Tokens) -> None:
        self.hub = hub
        self.tokens = tokens

    async def sse(self, request: web.Request, token: Token) -> web.StreamResponse:
        probes = wants_probes(request)
        await self.hub.start()
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        )
        subscriber = self.hub.subscribe(
            "sse", token.token, token.user, _peer(request), probes=probes
        )
        try:
            await response.prepare(request)
            await response.write(RETRY)

            async def send(out: Outgoing) -> None:
                await response.write(sse_block(out))

            await self._pump(request, subscriber, token, send)
        except ConnectionError:
            subscriber.end("the client went away")
        finally:
            self.hub.unsubscribe(subscriber)
        try:
            async with asyncio.timeout(_CLOSE_WAIT):
                await response.write_eof()
        except (TimeoutError, ConnectionError):
            _abort(request)
        return response

    async def ws(self, request: web.Request, token: Token) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(heartbeat=30.0)
        if not ws.can_prepare(request).ok:
            raise BadRequest("/ws expects a WebSocket upgrade request (Upgrade: websocket)")
        probes = wants_probes(request)
        await self.hub.start()
        subscriber = self.hub.subscribe(
            "ws", token.token, token.user, _peer(request), probes=probes
        )
        reader: asyncio.Task[None] | None = None
        try:
            await ws.prepare(request)
            reader = asyncio.create_task(self._incoming(ws))
            reader.add_done_callback(lambda _: subscriber.end("the client closed"))

            async def send(out: Outgoing) -> None:
                await ws.send_str(out.text)

            await self._pump(request, subscriber, token, send)
        except ConnectionError:
            subscriber.end("the client went away")
        finally:
            self.hub.unsubscribe(subscriber)
            if reader is not None:
                reader.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await reader
        reason = (subscriber.ended or "token expired").encode()[:120]
        try:
            async with asyncio.timeout(_CLOSE_WAIT):
                await ws.close(code=_WS_GOING_AWAY, message=reason)
        except (TimeoutError, ConnectionError):
            _abort(request)
        return ws

    @staticmethod
    async def _incoming(ws: web.WebSocketResponse) -> None:
        """Read (and ignore) what the client sends, so its close and pings are answered."""
        async for _message in ws:
            pass

    async def _pump(
        self, request: web.Request, subscriber: Subscriber, token: Token, send: Send
    ) -> None:
        """Send events until the token's deadline or ``subscriber.end``."""
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(max(token.expire - time.time(), 0)) as deadline:

                def stop() -> None:
                    with contextlib.suppress(RuntimeError):  # the deadline already passed
                        deadline.reschedule(loop.time())

                subscriber.on_end(stop)
                if subscriber.ended:
                    return
                while True:
                    try:
                        async with asyncio.timeout(_IDLE_CHECK):
                            out = await subscriber.next()
                    except TimeoutError:
                        if request.transport is None or request.transport.is_closing():
                            subscriber.end("the client went away")
                            return
                        out = None
                    if not self.tokens.alive(token):
                        subscriber.end("token expired or logged out")
                        return
                    if out is not None:
                        await send(out)
        except TimeoutError:
            subscriber.end("token expired")
        finally:
            subscriber.on_end(lambda: None)
