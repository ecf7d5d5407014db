"""The REST API server: aiohttp in the master's own asyncio loop.

A service of the master's core (``registry.Service``): ``bind()`` (from
``MasterCore.start``) opens the listening socket and makes or loads the certificate, so
the port is taken, or the start fails, before the master reports ready; ``start()``
(from ``MasterCore.serve``) serves on that socket; ``stop()`` ends every
stream, then the server. Written for aiohttp 3.8 (Debian bookworm, the images) as well
as later versions: no ``AppKey``, no per-version keyword arguments, and no aiohttp
site: ``Connections`` accepts, caps and times out connections itself (aiohttp 3.8 has
no timeout for a connection that never sends a request).
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import zmq.asyncio
from aiohttp import web

from saltsim_master.api.bodies import BodyReader
from saltsim_master.api.connections import ConnectionLimits, Connections
from saltsim_master.api.errors import ApiError
from saltsim_master.api.hub import EventHub
from saltsim_master.api.limits import BodyLimits
from saltsim_master.api.streams import Streams
from saltsim_master.api.tls import ensure_certificate, server_context
from saltsim_master.api.tokens import Tokens
from saltsim_master.api.views import ApiContext, Views
from saltsim_master.registry import Registry

__all__ = ["RestApi"]

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# aiohttp's limit on header lines (both versions accept it; lines and fields keep their
# 8190-byte defaults); past it aiohttp answers 400 itself. 3.8's default is 32768 lines.
_MAX_HEADERS = 128


async def _cors(request: web.Request, response: web.StreamResponse) -> None:
    """rest_cherrypy's cors_tool: any origin, with credentials (browsers, EventSource)."""
    response.headers["Access-Control-Allow-Origin"] = request.headers.get("Origin", "*")
    response.headers["Access-Control-Expose-Headers"] = "GET, POST"
    response.headers["Access-Control-Allow-Credentials"] = "true"


async def _preflight(request: web.Request) -> web.Response:
    headers = {}
    if request.headers.get("Access-Control-Request-Method") in ("GET", "POST"):
        headers = {
            "Access-Control-Allow-Methods": "GET, POST",
            "Access-Control-Allow-Headers": "X-Auth-Token, Content-Type",
            "Access-Control-Max-Age": "1400",
        }
    return web.json_response({}, headers=headers)


class RestApi:
    """salt-api's rest_cherrypy in the master's loop: its socket, TLS, tokens, event streams.

    Runs lowstate through the core's command table; ``context`` is the core's ZeroMQ
    context (for the event hub's bus subscriber), left for the core to close."""

    def __init__(self, ctx: ApiContext, context: zmq.asyncio.Context) -> None:
        self.ctx = ctx
        self.config = ctx.config
        self.tokens = Tokens(self.config.api_users, self.config.api_token_expire)
        self._context = context
        self.hub: EventHub | None = None
        self.url = ""
        self.errors: Counter[int] = Counter()
        self._sock: socket.socket | None = None
        self._ssl: ssl.SSLContext | None = None
        self._runner: web.AppRunner | None = None
        self.bodies = BodyReader(BodyLimits.of(self.config))
        self.connections: Connections | None = None

    def register(self, registry: Registry) -> None:
        registry.add_service(self)
        registry.add_stats("api", self.stats)

    # -- lifecycle ------------------------------------------------------------------------
    def bind(self, addresses: dict[str, str]) -> dict[str, str]:
        """Take the port and prepare TLS; returns ``{"api": <the API's URL>}``."""
        cfg = self.config
        bus_pub = addresses["bus_pub"]
        host = cfg.interface or "0.0.0.0"
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        if cfg.api_ssl:
            self._ssl = server_context(*ensure_certificate(cfg.pki_dir, cfg.interface))
        self._sock = socket.create_server((host, cfg.api_port), family=family, backlog=128)
        self._sock.setblocking(False)
        port = self._sock.getsockname()[1]
        self.hub = EventHub(
            self._context,
            bus_pub,
            self.ctx.fire,
            queue_size=cfg.api_client_queue,
            hwm=cfg.bus_hwm,
        )
        shown = f"[{host}]" if family == socket.AF_INET6 else host
        self.url = f"{'https' if cfg.api_ssl else 'http'}://{shown}:{port}"
        return {"api": self.url}

    async def start(self) -> None:
        assert self._sock is not None and self.hub is not None, "start() before bind()"
        views = Views(self.ctx, self.tokens, Streams(self.hub, self.tokens), self.bodies)
        limits = self.bodies.limits
        app = web.Application(middlewares=[self._errors], client_max_size=limits.max_body)
        routes: list[tuple[str, str, Handler]] = [
            ("GET", "/", views.index),
            ("POST", "/", views.run_lowstate),
            ("POST", "/run", views.run_with_credentials),
            ("GET", "/login", views.login_page),
            ("POST", "/login", views.login),
            ("POST", "/logout", views.logout),
            ("POST", "/token", views.token),
            ("GET", "/events", views.events),
            ("GET", "/ws", views.websocket),
            ("GET", "/ws/{token}", views.websocket),
            ("POST", "/hook", views.hook),
            ("POST", "/hook/{path:.+}", views.hook),
            ("GET", "/keys", views.keys),
            ("GET", "/keys/{mid}", views.keys),
            ("GET", "/minions", views.minions),
            ("GET", "/minions/{mid}", views.minions),
            ("POST", "/minions", views.minions_async),
            ("GET", "/jobs", views.jobs),
            ("GET", "/jobs/{jid}", views.jobs),
            ("GET", "/stats", views.stats),
        ]
        for method, path, handler in routes:
            app.router.add_route(method, path, handler)
        app.on_response_prepare.append(_cors)
        idle = self.config.api_idle_timeout
        self._runner = web.AppRunner(app, keepalive_timeout=idle, max_headers=_MAX_HEADERS)
        await self._runner.setup()
        server = self._runner.server
        assert server is not None
        self.connections = Connections(server, ConnectionLimits.of(self.config), self._ssl)
        self.connections.start(self._sock)
        log.info("REST API serving on %s", self.url)

    async def stop(self) -> None:
        """End every stream (their handlers return at once), then the server."""
        if self.hub is not None:
            self.hub.close()
        if self.connections is not None:
            await self.connections.stop()
        if self._runner is not None:
            runner, self._runner = self._runner, None
            try:
                async with asyncio.timeout(5):
                    if runner.server is not None:
                        await runner.server.shutdown(2.0)
                    await runner.cleanup()
            except TimeoutError:
                log.warning("the REST API did not shut down within 5s")
        if self.connections is not None:
            self.connections.abort_all()
        self.close()

    def close(self) -> None:
        """Release the socket and the bus listener (also when ``start`` never ran)."""
        if self.hub is not None:
            self.hub.close()
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        self.bodies.close()

    # -- errors -------------------------------------------------------------------------
    @web.middleware
    async def _errors(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Every refusal as a JSON body; a handler's bug as a 500 without a traceback.
        Answers CORS preflights for every path, as rest_cherrypy."""
        if request.method == "OPTIONS":
            return await _preflight(request)
        if self.connections is None:
            return await self._answer(request, handler)
        with self.connections.request(request.transport):
            return await self._answer(request, handler)

    async def _answer(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except ApiError as exc:
            self.errors[exc.status] += 1
            return web.json_response(exc.body(), status=exc.status)
        except web.HTTPException as exc:  # aiohttp's own: 404, 405, 413, ...
            if exc.status < 400:
                raise
            self.errors[exc.status] += 1
            headers = {k: v for k, v in exc.headers.items() if k.lower() == "allow"}
            body = {"status": exc.status, "error": exc.reason}
            return web.json_response(body, status=exc.status, headers=headers)
        except TimeoutError as exc:  # the hub did not arm: the bus is not answering
            self.errors[503] += 1
            return web.json_response({"status": 503, "error": str(exc)}, status=503)
        except Exception:
            self.errors[500] += 1
            log.exception("REST API: %s %s failed", request.method, request.path)
            body = {"status": 500, "error": "An unexpected error occurred"}
            return web.json_response(body, status=500)

    def stats(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "tokens": len(self.tokens),
            "refused_logins_and_tokens": self.tokens.refused,
            "errors": {str(k): v for k, v in sorted(self.errors.items())},
            "connections": self.connections.stats() if self.connections is not None else {},
            "streams": self.hub.stats() if self.hub is not None else {},
        }
