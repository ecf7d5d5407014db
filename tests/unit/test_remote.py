"""The remote listener against canned salt-api streams served by a tiny aiohttp server."""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import json
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from saltsim.asyncclient import AsyncEventClient
from saltsim.bus import EventBus
from saltsim.errors import ConfigError, FrameError
from saltsim.remote import (
    AsyncRemoteEventClient,
    NotSupportedError,
    RemoteAuthError,
    RemoteError,
    RemoteEventClient,
    parse_message,
)
from saltsim.testbed.local import free_ports

STAMP = "2026-11-24T07:00:00.000001+00:00"
HOLD = b""  # a script ending in HOLD keeps the stream open until the server stops


def block(tag: str, data: dict[str, Any]) -> bytes:
    """One event as salt-api writes it."""
    return f"tag: {tag}\ndata: {json.dumps({'data': data, 'tag': tag})}\n\n".encode()


def payload(seq: int, **data: Any) -> dict[str, Any]:
    return {**data, "_stamp": STAMP, "_seq": seq}


class ApiStub:
    """``POST /login`` and ``GET /events`` as salt-api answers them, in a thread.

    Each ``/events`` request plays the next script (chunks of bytes, written one by one);
    a script ending in ``HOLD`` keeps the stream open, otherwise the stream ends there and,
    with ``expire``, its token dies with it. With ``relay`` set, streams carry that bus.
    """

    def __init__(self, ssl_context: ssl.SSLContext | None = None) -> None:
        self.scripts: list[list[bytes]] = []
        self.tokens = {"good"}
        self.users = {"u": "p"}
        self.logins = 0
        self.expire = False
        self.content_type = "text/event-stream"
        self.allow_query = False
        self.relay: str | None = None
        self.requests: list[tuple[dict[str, str], dict[str, str]]] = []
        self._ssl = ssl_context
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self.port = asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        scheme = "https" if ssl_context else "http"
        self.url = f"{scheme}://127.0.0.1:{self.port}"

    async def _start(self) -> int:
        self._stop = asyncio.Event()
        app = web.Application()
        app.router.add_post("/login", self._login)
        app.router.add_get("/events", self._events)
        self._runner = web.AppRunner(app, shutdown_timeout=1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0, ssl_context=self._ssl)
        await site.start()
        port: int = self._runner.addresses[0][1]
        return port

    async def _login(self, request: web.Request) -> web.Response:
        body = await request.json()
        if self.users.get(body.get("username")) != body.get("password"):
            return web.json_response(
                {"status": 401, "return": "Could not authenticate"}, status=401
            )
        self.logins += 1
        token = f"tok{self.logins}"
        self.tokens.add(token)
        reply = {"token": token, "expire": 0, "start": 0, "user": "u", "eauth": "auto"}
        return web.json_response({"return": [reply | {"perms": [".*"]}]})

    async def _events(self, request: web.Request) -> web.StreamResponse:
        self.requests.append((dict(request.headers), dict(request.query)))
        token = request.headers.get("X-Auth-Token")
        if self.allow_query:
            token = token or request.query.get("token")
        if token not in self.tokens:
            return web.json_response({"status": 401, "return": "Please log in"}, status=401)
        response = web.StreamResponse(headers={"Content-Type": self.content_type})
        await response.prepare(request)
        await response.write(b"retry: 400\n")
        if self.relay is not None:
            async with AsyncEventClient(self.relay) as bus:
                while not self._stop.is_set():
                    event = await bus.next_event(0.1)
                    if event is not None:
                        await response.write(block(event.tag, event.full))
            return response
        script = self.scripts.pop(0) if self.scripts else [HOLD]
        for chunk in script:
            if chunk == HOLD:
                await self._stop.wait()
                break
            await response.write(chunk)
        else:
            if self.expire:
                self.tokens.discard(token)
        await response.write_eof()
        return response

    def close(self) -> None:
        async def stop() -> None:
            self._stop.set()
            await self._runner.cleanup()

        asyncio.run_coroutine_threadsafe(stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()


@pytest.fixture
def api() -> Iterator[ApiStub]:
    stub = ApiStub()
    yield stub
    stub.close()


# -- parsing ---------------------------------------------------------------------------------


def test_parse_message_builds_events_and_refuses_the_rest() -> None:
    event = parse_message(json.dumps({"data": payload(7, id="m1"), "tag": "salt/auth"}))
    assert (event.tag, event.data, event.seq, event.stamp) == ("salt/auth", {"id": "m1"}, 7, STAMP)
    for bad, reason in [
        ("not json", "not JSON"),
        ("[1]", "must be an object"),
        ('{"data": {}}', "no tag"),
        ('{"data": [1], "tag": "t"}', "event data must be an object"),
    ]:
        with pytest.raises(FrameError, match=reason):
            parse_message(bad)


def test_settings_refuse_what_cannot_work() -> None:
    with pytest.raises(ConfigError, match="http:// or https://"):
        RemoteEventClient("127.0.0.1:8000", token="t")
    with pytest.raises(ConfigError, match="a token, or a username and password"):
        RemoteEventClient("http://127.0.0.1:8000", username="u")


# -- the sync client ---------------------------------------------------------------------------


def test_canned_stream_in_odd_chunks_with_loss_and_garbage(api: ApiStub) -> None:
    stream = b"".join(
        [
            block("salt/auth", payload(1, id="m1")),
            b"data: not json\n\n",
            block("salt/job/1/new", payload(2, jid="1")),
            b'data: {"data": {}}\n\n',
            block("salt/job/1/ret/m1", payload(4, id="m1")),  # _seq 3 never came
            b'data: {"data": [1], "tag": "t"}\r\n\r\n',
            b": a comment\n\n",
            block("salt/presence/present", payload(5, present=["m1"])),
        ]
    )
    # split mid-field, mid-line and between \r and \n
    chunks = [stream[:7], stream[7:40], stream[40:41], stream[41:-3], stream[-3:], HOLD]
    api.scripts.append(chunks)
    with RemoteEventClient(api.url, token="good") as client:
        client.wait_ready(10)
        client.subscribe("salt/job/")
        assert client.get_event(wait=10, tag="salt/presence/") == payload(5, present=["m1"])
        kept = client.get_event(wait=0, tag="salt/job/1/ret", full=True)
        assert (kept.tag, kept.data, kept.seq) == ("salt/job/1/ret/m1", {"id": "m1"}, 4)
        assert client.get_event(no_block=True, tag="salt/job/1/new", full=True).data == {"jid": "1"}
        assert client.get_event(wait=0.05) is None
        assert (client.lost, client.counters.bad_frames, client.counters.received) == (1, 3, 4)
    headers, query = api.requests[0]
    assert headers["X-Auth-Token"] == "good" and headers["Accept"] == "text/event-stream"
    assert query == {}


def test_login_then_login_again_when_the_token_expires(api: ApiStub) -> None:
    api.expire = True
    api.scripts += [[block("one", payload(1))], [block("two", payload(2)), HOLD]]
    with RemoteEventClient(api.url, username="u", password="p") as client:
        assert client.wait_for("one", 10).seq == 1
        assert client.wait_for("two", 10).seq == 2
        assert (client.lost, client.reconnects, api.logins) == (0, 2, 2)
    assert [h["X-Auth-Token"] for h, _ in api.requests] == ["tok1", "tok1", "tok2"]


def test_refused_token_and_login_raise_auth_errors(api: ApiStub) -> None:
    with RemoteEventClient(api.url, token="stale") as client:
        with pytest.raises(RemoteAuthError, match="refused the token"):
            client.wait_ready(10)
        with pytest.raises(RemoteAuthError):
            client.get_event(wait=1)
    with (
        RemoteEventClient(api.url, username="u", password="wrong") as client,
        pytest.raises(RemoteAuthError, match="login as 'u' refused"),
    ):
        client.wait_ready(10)


def test_query_token_only_when_asked(api: ApiStub) -> None:
    api.allow_query = True
    api.scripts.append([block("q", payload(1)), HOLD])
    with RemoteEventClient(api.url, token="good", token_in_query=True) as client:
        assert client.wait_for("q", 10).tag == "q"
    assert api.requests[0][1] == {"token": "good"}


def test_not_an_event_stream_is_a_clear_error(api: ApiStub) -> None:
    api.content_type = "application/json"
    with (
        RemoteEventClient(api.url, token="good") as client,
        pytest.raises(RemoteError, match="is not an event stream"),
    ):
        client.get_event(wait=10)


def test_nothing_listening_times_out_naming_the_error() -> None:
    (port,) = free_ports(1)
    with (
        RemoteEventClient(f"http://127.0.0.1:{port}", token="t", connect_timeout=1) as client,
        pytest.raises(TimeoutError, match="last error: ConnectError"),
    ):
        client.wait_ready(1.5)


def test_fire_event_needs_the_bus_pull_port(api: ApiStub) -> None:
    with RemoteEventClient(api.url, token="good") as client:
        with pytest.raises(NotSupportedError, match="pull_address='tcp://HOST:4513'"):
            client.fire_event({}, "x/y")
        with pytest.raises(NotImplementedError):
            client.fire_event({}, "x/y")


def test_a_script_for_the_local_bus_runs_over_the_api(api: ApiStub, event_bus: EventBus) -> None:
    """The same calls as against ``EventClient``: arm, fire, wait, count loss."""
    api.relay = event_bus.pub_address
    with RemoteEventClient(api.url, token="good", pull_address=event_bus.pull_address) as client:
        client.wait_ready(10)
        client.subscribe("salt/demo/")
        assert client.fire_event({"id": "web1"}, "salt/demo/hello")
        assert client.fire_event({"n": 1}, "salt/other")
        assert client.get_event(wait=10, tag="salt/other")["n"] == 1
        event = client.get_event(wait=10, tag="salt/demo/", full=True)
        assert (event["tag"], event.data) == ("salt/demo/hello", {"id": "web1"})
        assert client.lost == 0


# -- TLS -------------------------------------------------------------------------------------


def self_signed(tmp_path: Path) -> ssl.SSLContext:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "saltsim-test")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "api.crt", tmp_path / "api.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    return context


def test_self_signed_https_needs_verify_false(tmp_path: Path) -> None:
    stub = ApiStub(self_signed(tmp_path))
    try:
        stub.scripts += [[block("tls", payload(1)), HOLD], [block("tls", payload(1)), HOLD]]
        with (
            RemoteEventClient(stub.url, token="good") as strict,
            pytest.raises(RemoteError, match=r"certificate not trusted.*verify=False"),
        ):
            strict.wait_ready(10)
        with RemoteEventClient(stub.url, token="good", verify=False) as lax:
            assert lax.wait_for("tls", 10).seq == 1
        trusting = ssl.create_default_context(cafile=tmp_path / "api.crt")
        with RemoteEventClient(stub.url, token="good", verify=trusting) as pinned:
            assert pinned.wait_for("tls", 10).seq == 1
    finally:
        stub.close()


# -- the async client --------------------------------------------------------------------------


def test_async_client_same_api(api: ApiStub, event_bus: EventBus) -> None:
    api.scripts.append([block("a/1", payload(1)), block("a/2", payload(3)), b"data: x\n\n", HOLD])

    async def canned() -> None:
        async with AsyncRemoteEventClient(api.url, username="u", password="p") as client:
            await client.wait_ready(10)
            async for data in client.iter_events(tag="a/1"):
                assert data == payload(1)
                break
            assert (await client.get_event(wait=10, tag="a/2", full=True)).seq == 3
            assert await client.get_event(wait=0.05) is None
            assert (client.lost, client.counters.bad_frames) == (1, 1)

    async def relayed() -> None:
        api.relay = event_bus.pub_address
        async with AsyncRemoteEventClient(
            api.url, token="good", pull_address=event_bus.pull_address
        ) as client:
            await client.wait_ready(10)
            assert await client.fire_event({"k": 1}, "b/x")
            event = await client.wait_for("b/x", 10)
            assert event.data == {"k": 1} and client.lost == 0
            with pytest.raises(TimeoutError, match="b/never"):
                await client.wait_for("b/never", 0.1)

    async def both() -> None:
        await canned()
        await relayed()

    asyncio.run(both())
