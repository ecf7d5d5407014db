"""Reading a master's ``GET /events`` stream (salt-api's Server-Sent Events) with httpx-sse.

The stream opens with ``retry: 400``, then per event ``tag: <tag>``, ``data: {"data": ...,
"tag": ...}`` and a blank line (docs/EVENTS.md). The ``tag:`` field is not an SSE field, so an
SSE parser ignores it; the JSON carries the tag too. One ``EventStream`` logs in when it
has a user name (``POST /login``), keeps the stream open, reconnects after the server's
``retry`` delay when it ends (a token that expired: logs in again), and hands each event,
malformed message or fatal error to a sink; the clients count and match them.
"""

from __future__ import annotations

import asyncio
import json
import logging
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx
from httpx_sse import SSEError, aconnect_sse

from saltsim.errors import ConfigError, FrameError
from saltsim.event import Event
from saltsim.listener import ListenerCore
from saltsim.remote._errors import RemoteAuthError, RemoteError

__all__ = ["ApiSettings", "EventStream", "Intake", "Item", "parse_message"]

log = logging.getLogger(__name__)

Item = Event | FrameError | RemoteError
Sink = Callable[[Item], Awaitable[None]]


@dataclass(frozen=True)
class ApiSettings:
    """Where the REST API is and how to authenticate to it."""

    url: str  # https://host:8000 (the API's root)
    token: str | None = None  # X-Auth-Token; with a user name too, the first one to try
    username: str | None = None  # POST /login, again whenever the token is refused
    password: str | None = None
    eauth: str = "auto"
    verify: bool | ssl.SSLContext = True  # False for the master's self-signed certificate
    token_in_query: bool = False  # ?token= (old salt-api; the API must allow it)
    connect_timeout: float = 10.0
    # ?probes=true: the stream carries listener probes too (a saltsim master leaves them
    # out otherwise), for a client that proves its stream with its own probe
    probes: bool = False

    def __post_init__(self) -> None:
        if not self.url.startswith(("http://", "https://")):
            raise ConfigError(f"the API url must start with http:// or https://, not {self.url!r}")
        if self.token is None and (self.username is None or self.password is None):
            raise ConfigError("give a token, or a username and password to log in with")

    def endpoint(self, path: str) -> str:
        return f"{self.url.rstrip('/')}/{path}"

    @property
    def can_login(self) -> bool:
        return self.username is not None and self.password is not None


def parse_message(text: str) -> Event:
    """One SSE ``data`` field, ``{"data": {...}, "tag": "..."}``; ``FrameError`` otherwise."""
    try:
        body = json.loads(text)
    except ValueError as exc:
        raise FrameError(f"stream message is not JSON: {exc}") from None
    if not isinstance(body, dict):
        raise FrameError(f"stream message must be an object, not {type(body).__name__}")
    tag, data = body.get("tag"), body.get("data")
    if not isinstance(tag, str) or not tag:
        raise FrameError(f"stream message has no tag: {text[:80]!r}")
    if not isinstance(data, dict):
        raise FrameError(f"event data must be an object, not {type(data).__name__} ({tag})")
    return Event.from_data(tag, data)


def _untrusted(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


class EventStream:
    """One ``/events`` subscription, kept open until cancelled or refused for good."""

    def __init__(self, settings: ApiSettings, sink: Sink, on_change: Callable[[], None]) -> None:
        self.settings = settings
        self.connected = False
        self.reconnects = 0  # connections opened again after the first
        self.last_error = ""
        self.fatal: RemoteError | None = None
        self.retry = 0.4  # seconds before reconnecting; the server's `retry:` sets it
        self._sink = sink
        self._on_change = on_change

    def _set_connected(self, connected: bool) -> None:
        self.connected = connected
        self._on_change()

    async def run(self) -> None:
        timeout = httpx.Timeout(self.settings.connect_timeout, read=None)
        try:
            async with httpx.AsyncClient(verify=self.settings.verify, timeout=timeout) as http:
                await self._loop(http)
        except RemoteError as exc:
            await self._give_up(exc)
        except Exception as exc:  # a reader that dies must not leave its caller waiting
            log.exception("events stream %s: reader failed", self.settings.url)
            await self._give_up(RemoteError(f"the stream reader failed: {exc!r}"))

    async def _give_up(self, exc: RemoteError) -> None:
        self.fatal = exc
        self._set_connected(False)
        await self._sink(exc)

    async def _loop(self, http: httpx.AsyncClient) -> None:
        token, fresh, first = self.settings.token, False, True
        while True:
            if not first:
                await asyncio.sleep(self.retry)  # the server's reconnection delay
                self.reconnects += 1
            first = False
            try:
                if token is None:
                    token, fresh = await self._login(http), True
                    if token is None:
                        continue
                status = await self._read(http, token)
            except httpx.RequestError as exc:
                self._failed(exc)
                continue
            if status in (401, 403):
                if self.settings.can_login and not fresh:
                    token = None  # expired or logged out: log in again
                    continue
                raise RemoteAuthError(
                    f"{self.settings.endpoint('events')} refused the token ({status}); "
                    + ("the login just made" if fresh else "log in again, or pass a username")
                )
            fresh = fresh and status != 200

    def _failed(self, exc: httpx.RequestError) -> None:
        if _untrusted(exc):
            raise RemoteError(
                f"{self.settings.url}: certificate not trusted ({exc}); the master's API "
                "certificate is self-signed: pass verify=False, or an ssl context trusting it"
            ) from exc
        message = f"{type(exc).__name__}: {exc}"
        if message != self.last_error:
            log.warning("events stream %s: %s; reconnecting", self.settings.url, message)
        self.last_error = message

    async def _login(self, http: httpx.AsyncClient) -> str | None:
        s = self.settings
        body = {"username": s.username, "password": s.password, "eauth": s.eauth}
        reply = await http.post(
            s.endpoint("login"), json=body, headers={"Accept": "application/json"}
        )
        if reply.status_code in (401, 403):
            raise RemoteAuthError(
                f"login as {s.username!r} refused by {s.url} ({reply.status_code})"
            )
        if reply.status_code >= 500:
            self.last_error = f"POST /login: {reply.status_code} {reply.text[:200]}"
            return None
        try:
            token = reply.json()["return"][0]["token"]
        except (ValueError, KeyError, IndexError, TypeError):
            token = None
        if reply.status_code != 200 or not isinstance(token, str):
            raise RemoteError(
                f"unexpected answer to POST /login ({reply.status_code}): {reply.text[:200]}"
            )
        return token

    async def _read(self, http: httpx.AsyncClient, token: str) -> int:
        """Stream events until the server ends the stream; the HTTP status."""
        s = self.settings
        params = {"token": token} if s.token_in_query else {}
        if s.probes:
            params["probes"] = "true"
        headers = {"X-Auth-Token": token}
        async with aconnect_sse(
            http, "GET", s.endpoint("events"), headers=headers, params=params
        ) as source:
            status = source.response.status_code
            if status != 200:
                text = (await source.response.aread()).decode(errors="replace")[:200]
                self.last_error = f"GET /events: {status} {text}"
                if 400 <= status < 500 and status not in (401, 403):
                    raise RemoteError(f"{s.endpoint('events')}: {status} {text}")
                return status
            self._set_connected(True)
            try:
                async for message in source.aiter_sse():
                    if message.retry is not None:
                        self.retry = message.retry / 1000
                    if message.data:
                        await self._sink(_parsed(message.data))
            except SSEError as exc:
                raise RemoteError(f"{s.endpoint('events')} is not an event stream: {exc}") from None
            finally:
                self._set_connected(False)
            self.last_error = "the server ended the stream"
            return status


def _parsed(text: str) -> Event | FrameError:
    try:
        return parse_message(text)
    except FrameError as exc:
        return exc


class Intake:
    """The reading side: counts, ``_seq`` accounting and matching, as for bus frames."""

    def __init__(self, pending_max: int) -> None:
        self.core = ListenerCore(pending_max)
        self.fatal: RemoteError | None = None

    def check(self) -> None:
        if self.fatal is not None:
            raise self.fatal

    def take(self, item: Item, match: Callable[[str], bool]) -> Event | None:
        """The event if ``match`` wants it; kept (if subscribed), counted or raised otherwise."""
        if isinstance(item, Event):
            self.core.admit(item)
            return item if self.core.offer(item, match) else None
        if isinstance(item, RemoteError):
            self.fatal = item
            raise item
        self.core.count_bad(item)
        return None
