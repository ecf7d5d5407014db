"""The HTTP API (contract v1, API.md) on aiohttp, in cloud-sim's asyncio loop.

Written for aiohttp 3.8 (Debian bookworm, the images) as well as later versions: no
``AppKey``, no per-version keyword arguments; the views are bound methods rather than
handlers that look state up in the application. Every refusal is a JSON body
``{"error": {"code", "message"}}``; a bug in a handler is a 500 ``InternalError``
without a traceback, logged here.
"""

from __future__ import annotations

import logging
import socket
from collections import Counter
from collections.abc import Awaitable, Callable

from aiohttp import web

from saltsim_cloudsim.bodies import decode, parse_create, parse_deploy, parse_fault
from saltsim_cloudsim.errors import CloudError
from saltsim_cloudsim.service import CloudService

__all__ = ["CloudServer"]

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_MAX_BODY = 1 << 20  # a key pair and options fit many times over
_HTTP_CODES = {404: "NotFound", 405: "MethodNotAllowed", 413: "PayloadTooLarge"}


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status)


class CloudServer:
    """The HTTP API over a ``CloudService``: one view per route; ``errors`` counts refusals."""

    def __init__(self, service: CloudService) -> None:
        self.service = service
        self.errors: Counter[int] = Counter()
        self._runner: web.AppRunner | None = None
        self.url = ""

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._errors], client_max_size=_MAX_BODY)
        routes: list[tuple[str, str, Handler]] = [
            ("GET", "/v1/health", self.health),
            ("GET", "/v1/instances", self.list_instances),
            ("POST", "/v1/instances", self.create),
            ("GET", "/v1/instances/{id}", self.describe),
            ("DELETE", "/v1/instances/{id}", self.destroy),
            ("POST", "/v1/instances/{id}/deploy", self.deploy),
            ("GET", "/v1/faults", self.list_faults),
            ("POST", "/v1/faults", self.add_fault),
            ("DELETE", "/v1/faults", self.clear_faults),
        ]
        for method, path, handler in routes:
            app.router.add_route(method, path, handler)
        return app

    async def start(self, sock: socket.socket) -> None:
        """Serve on ``sock`` (bound by the caller, so the port is known before this)."""
        host, port = sock.getsockname()[:2]
        self.url = f"http://{host}:{port}"
        self._runner = web.AppRunner(self.app(), access_log=None)
        await self._runner.setup()
        await web.SockSite(self._runner, sock).start()
        log.info("cloud-sim API serving on %s", self.url)

    async def stop(self) -> None:
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    # -- errors -------------------------------------------------------------------------
    @web.middleware
    async def _errors(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except CloudError as exc:
            self.errors[exc.status] += 1
            log.info("%s %s: %s %s", request.method, request.path, exc.status, exc.message)
            return web.json_response(exc.body(), status=exc.status)
        except web.HTTPException as exc:  # aiohttp's own: 404, 405, 413, ...
            if exc.status < 400:
                raise
            self.errors[exc.status] += 1
            code = _HTTP_CODES.get(exc.status, "BadRequest")
            response = _error(exc.status, code, f"{request.method} {request.path}: {exc.reason}")
            if "Allow" in exc.headers:
                response.headers["Allow"] = exc.headers["Allow"]
            return response
        except Exception:
            self.errors[500] += 1
            log.exception("%s %s failed", request.method, request.path)
            return _error(500, "InternalError", "an unexpected error occurred; see cloud-sim's log")

    # -- views --------------------------------------------------------------------------
    async def health(self, request: web.Request) -> web.Response:
        return web.json_response(self.service.health())

    async def list_instances(self, request: web.Request) -> web.Response:
        return web.json_response({"instances": [i.view() for i in self.service.instances()]})

    async def create(self, request: web.Request) -> web.Response:
        body = parse_create(decode(await request.read()))
        instance = self.service.create(body)
        return web.json_response({"instance": instance.view()}, status=201)

    async def describe(self, request: web.Request) -> web.Response:
        instance = self.service.get(request.match_info["id"])
        return web.json_response({"instance": instance.view()})

    async def destroy(self, request: web.Request) -> web.Response:
        instance = self.service.destroy(request.match_info["id"])
        return web.json_response({"instance": instance.view()}, status=202)

    async def deploy(self, request: web.Request) -> web.Response:
        self.service.get(request.match_info["id"])  # 404 before 400
        body = parse_deploy(decode(await request.read()))
        instance, handle = await self.service.deploy(request.match_info["id"], body)
        return web.json_response({"instance": instance.view(), "minion": handle})

    async def list_faults(self, request: web.Request) -> web.Response:
        return web.json_response({"faults": self.service.faults.views()})

    async def add_fault(self, request: web.Request) -> web.Response:
        fault = self.service.add_fault(parse_fault(decode(await request.read())))
        return web.json_response({"fault": fault}, status=201)

    async def clear_faults(self, request: web.Request) -> web.Response:
        cleared = self.service.faults.clear()
        return web.json_response({"faults": [], "cleared": cleared})
