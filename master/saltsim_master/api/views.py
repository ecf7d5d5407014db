"""The endpoints of salt-api's rest_cherrypy, as aiohttp handlers.

Authentication: the ``X-Auth-Token`` header, else the ``session_id`` cookie that
``POST /login`` sets; on ``/events`` and ``/ws`` also ``?token=`` (and ``/ws/<token>``)
when ``api_allow_query_token`` is on. Everything but ``GET /``, ``/login``, ``/token``
and ``/run`` (whose chunks carry a ``token`` or eauth credentials each, see ``runauth``)
needs a live token.
"""

from __future__ import annotations

import email.utils
from typing import Any, Protocol

from aiohttp import web

from saltsim import safejson
from saltsim_master.api.bodies import BodyReader
from saltsim_master.api.errors import BadRequest, Unauthorized
from saltsim_master.api.lowstate import CLIENTS, Lowstate, chunks_of
from saltsim_master.api.runauth import chunk_user
from saltsim_master.api.streams import Streams
from saltsim_master.api.tokens import Token, Tokens
from saltsim_master.commands import CommandTable
from saltsim_master.config import MasterConfig

__all__ = ["COOKIE", "ApiContext", "Views", "hook_headers"]

COOKIE = "session_id"  # rest_cherrypy's session cookie


def _json_response(body: Any, **options: Any) -> web.Response:
    """``web.json_response`` that never raises on what minions sent (a bytes key in grains
    or a return, nesting deeper than ``json`` recurses): such values go out in
    ``safejson``'s safe form, so one minion cannot make an endpoint answer 500 for everyone."""
    return web.json_response(body, dumps=lambda value: safejson.dumps(value)[0], **options)


HOOK_BASE = "salt/netapi/hook"
# Credentials a hook's caller sent: never put on the bus, which every listener reads.
# (salt-api 3008's Webhook fires dict(cherrypy.request.headers), these included.)
SECRET_HEADERS = frozenset({"x-auth-token", "cookie", "authorization", "proxy-authorization"})


def hook_headers(request: web.Request) -> dict[str, str]:
    """The request's headers for a hook event, without the caller's credentials."""
    return {k: v for k, v in request.headers.items() if k.lower() not in SECRET_HEADERS}


class ApiContext(Protocol):
    """What the REST API needs of the core."""

    @property
    def config(self) -> MasterConfig: ...
    @property
    def commands(self) -> CommandTable: ...
    @property
    def fire_failures(self) -> int: ...
    def fire(self, tag: str, data: dict[str, Any]) -> None: ...
    def stats(self) -> dict[str, Any]: ...


class Views:
    """The handlers; lowstate, keys, minions and jobs go through the core's command table."""

    def __init__(
        self, ctx: ApiContext, tokens: Tokens, streams: Streams, bodies: BodyReader
    ) -> None:
        self.ctx = ctx
        self.bodies = bodies
        self.tokens = tokens
        self.streams = streams
        self.lowstate = Lowstate(ctx.commands)
        self.allow_query = ctx.config.api_allow_query_token

    # -- authentication ---------------------------------------------------------------
    def _auth(self, request: web.Request, *, stream: bool = False) -> Token:
        token = request.headers.get("X-Auth-Token") or request.cookies.get(COOKIE)
        if not token and stream:
            query = request.match_info.get("token") or request.query.get("token")
            if query and not self.allow_query:
                self.tokens.refused += 1
                raise Unauthorized(
                    "a token in the URL is refused (it leaks into logs): send the X-Auth-Token "
                    "header or the session cookie, or set api_allow_query_token: true"
                )
            token = query
        return self.tokens.check(token)

    # -- root, login, logout ------------------------------------------------------------
    async def index(self, request: web.Request) -> web.Response:
        return _json_response({"return": "Welcome", "clients": list(CLIENTS)})

    async def run_lowstate(self, request: web.Request) -> web.Response:
        token = self._auth(request)
        _raw, data = await self.bodies.read(request)
        chunks = chunks_of(data)
        results = [await self.lowstate.run(chunk, token.user) for chunk in chunks]
        return _json_response({"return": results})

    async def run_with_credentials(self, request: web.Request) -> web.Response:
        """``POST /run``: every chunk carries a ``token`` or ``username``, ``password`` and
        ``eauth``; all are checked before any chunk runs."""
        _raw, data = await self.bodies.read(request)
        chunks = chunks_of(data)
        users = [chunk_user(c, self.tokens) for c in chunks]
        results = [await self.lowstate.run(c, u) for c, u in zip(chunks, users, strict=True)]
        return _json_response({"return": results})

    async def token(self, request: web.Request) -> web.Response:
        """``POST /token``: a Salt eauth token per credentials chunk, as salt-api's (a bare
        list of ``{"start", "expire", "name", "eauth", "token"}``), for ``/run`` chunks
        (``pepper --run-uri``) or the ``X-Auth-Token`` header."""
        _raw, data = await self.bodies.read(request)
        listed = data if isinstance(data, list) else [data]
        if not listed or not all(
            isinstance(c, dict) and {"username", "password", "eauth"} <= c.keys() for c in listed
        ):
            raise BadRequest('Require "username", "password", and "eauth" params')
        users = [self._token_user(creds) for creds in listed]  # all, before any token
        made = [self.tokens.issue(u, c["eauth"]) for u, c in zip(users, listed, strict=True)]
        return _json_response([token.as_eauth_token() for token in made])

    def _token_user(self, creds: dict[str, Any]) -> str:
        username = creds["username"]
        try:
            return self.tokens.verify(username, creds["password"], creds["eauth"])
        except Unauthorized:  # the auth.mk_token runner call refused, in the master's words
            raise Unauthorized(
                f'Authentication failure of type "eauth" occurred for user {username}.'
            ) from None

    async def login_page(self, request: web.Request) -> web.Response:
        return _json_response(
            {"status": 200, "return": "Please log in"}, headers={"WWW-Authenticate": "Session"}
        )

    async def login(self, request: web.Request) -> web.Response:
        _raw, data = await self.bodies.read(request)
        creds = data[0] if isinstance(data, list) and data else data
        if not isinstance(creds, dict):
            raise BadRequest('send {"username": ..., "password": ..., "eauth": "auto"}')
        token = self.tokens.login(creds.get("username"), creds.get("password"), creds.get("eauth"))
        response = _json_response(
            {"return": [token.as_login()]}, headers={"X-Auth-Token": token.token}
        )
        expires = email.utils.formatdate(token.expire, usegmt=True)
        response.set_cookie(COOKIE, token.token, expires=expires, path="/", httponly=True)
        return response

    async def logout(self, request: web.Request) -> web.Response:
        token = self._auth(request)
        self.tokens.logout(token)
        self.streams.hub.end_token(token.token, "logged out")
        response = _json_response({"return": "Your token has been cleared"})
        response.del_cookie(COOKIE, path="/")
        return response

    # -- streams --------------------------------------------------------------------------
    async def events(self, request: web.Request) -> web.StreamResponse:
        return await self.streams.sse(request, self._auth(request, stream=True))

    async def websocket(self, request: web.Request) -> web.StreamResponse:
        return await self.streams.ws(request, self._auth(request, stream=True))

    # -- hook -----------------------------------------------------------------------------
    async def hook(self, request: web.Request) -> web.Response:
        self._auth(request)
        raw, data = await self.bodies.read(request)
        path = request.match_info.get("path", "").strip("/")
        tag = f"{HOOK_BASE}/{path}" if path else HOOK_BASE
        failures = self.ctx.fire_failures
        try:
            self.ctx.fire(tag, {"body": raw, "post": data or {}, "headers": hook_headers(request)})
        except ValueError as exc:  # FrameError: a tag or payload the bus refuses
            raise BadRequest(f"cannot fire {tag!r}: {exc}") from None
        return _json_response({"success": self.ctx.fire_failures == failures})

    # -- keys, minions, jobs, stats -------------------------------------------------------
    async def keys(self, request: web.Request) -> web.Response:
        token = self._auth(request)
        mid = request.match_info.get("mid")
        fun, kwarg = ("key.finger", {"match": mid}) if mid else ("key.list_all", {})
        result = await self.lowstate.wheel(fun, [], kwarg, token.user)
        return _json_response({"return": result["data"]["return"]})

    async def minions(self, request: web.Request) -> web.Response:
        token = self._auth(request)
        target = request.match_info.get("mid", "*")
        chunk = {"client": "local", "tgt": target, "fun": "grains.items"}
        grains = await self.lowstate.run(chunks_of(chunk)[0], token.user)
        return _json_response({"return": [grains]})

    async def minions_async(self, request: web.Request) -> web.Response:
        """``POST /minions``: publish without waiting (``local_async``); 202 with the jids."""
        token = self._auth(request)
        _raw, data = await self.bodies.read(request)
        # salt-api runs every chunk here as local_async, whatever client it names (a
        # runner chunk without tgt reached publish() and was a 500)
        if isinstance(data, dict):
            data = {**data, "client": "local_async"}
        elif isinstance(data, list):
            data = [{**c, "client": "local_async"} if isinstance(c, dict) else c for c in data]
        jobs = [await self.lowstate.local_async(c, token.user) for c in chunks_of(data)]
        links = {"jobs": [{"href": f"/jobs/{job['jid']}"} for job in jobs if job]}
        return _json_response({"return": jobs, "_links": links}, status=202)

    async def jobs(self, request: web.Request) -> web.Response:
        token = self._auth(request)
        jid = request.match_info.get("jid")
        fun, kwarg = ("jobs.list_job", {"jid": jid}) if jid else ("jobs.list_jobs", {})
        reply = await self.lowstate.runner(fun, [], kwarg, token.user)
        if not jid:
            return _json_response({"return": [reply["return"]]})
        info: dict[str, Any] = reply["return"]
        results = info.get("Result", {})
        returns = {minion: ret.get("return") for minion, ret in results.items()}
        return _json_response({"info": [info], "return": [returns]})

    async def stats(self, request: web.Request) -> web.Response:
        self._auth(request)
        return _json_response(self.ctx.stats())
