"""Real clients on ``GET /events`` and ``/ws``: curl, httpx-sse, Chromium's EventSource,
aiohttp's WebSocket client. Each arms (its stream is open), then an event is fired on
the bus, then the client must show it before one deadline.

The module's master allows ``?token=`` (``api_allow_query_token``), so the seed's
``curl -SsNk https://.../events?token=...`` works as written.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from api_support import api_options, base_url, curl_events, http, login
from httpx_sse import connect_sse

from saltsim.deadline import Deadline
from saltsim.testbed.local import LocalTestbed

pytestmark = pytest.mark.functional


@pytest.fixture(scope="module")
def testbed_options() -> dict[str, Any]:
    return api_options(api_allow_query_token=True)


@pytest.fixture(scope="module")
def token(module_testbed: LocalTestbed) -> str:
    with http(module_testbed) as client:
        return login(client)


def fire(bed: LocalTestbed, tag: str, data: dict[str, Any]) -> None:
    with bed.listener() as events:
        assert events.fire_event(data, tag)


def unique(kind: str) -> str:
    return f"test/api/{kind}/{uuid.uuid4().hex[:8]}"


@pytest.mark.parametrize("auth", ["header", "query"])
def test_curl_receives_a_fired_event_in_salt_api_format(
    module_testbed: LocalTestbed, token: str, auth: str
) -> None:
    url, args = f"{base_url(module_testbed)}/events", ["-H", f"X-Auth-Token: {token}"]
    if auth == "query":  # the seed's command, as written
        url, args = f"{url}?token={token}", []
    proc, reader = curl_events(url, "-SsNk", *args)
    tag = unique(f"curl-{auth}")
    try:
        deadline = Deadline(30)
        assert reader.line(deadline) == "retry: 400"  # the stream opens with it: armed
        fire(module_testbed, tag, {"hello": "curl"})
        while (line := reader.line(deadline)) != f"tag: {tag}":
            assert line is not None, list(reader.seen)
        data_line, blank = reader.line(deadline), reader.line(deadline)
    finally:
        proc.kill()
        proc.wait()
    assert data_line is not None and data_line.startswith("data: ") and blank == ""
    body = json.loads(data_line.removeprefix("data: "))
    assert list(body) == ["data", "tag"] and body["tag"] == tag
    assert body["data"]["hello"] == "curl"
    assert isinstance(body["data"]["_seq"], int) and body["data"]["_stamp"].endswith("+00:00")


def test_curl_headers_say_event_stream(module_testbed: LocalTestbed, token: str) -> None:
    proc, reader = curl_events(
        f"{base_url(module_testbed)}/events", "-i", "-H", f"X-Auth-Token: {token}"
    )
    try:
        deadline = Deadline(30)
        status = reader.line(deadline)
        headers = {}
        while (line := reader.line(deadline)) not in ("\r", None):
            assert line is not None
            name, _, value = line.rstrip("\r").partition(": ")
            headers[name.lower()] = value
        assert reader.line(deadline) == "retry: 400"
    finally:
        proc.kill()
        proc.wait()
    assert status is not None and status.startswith("HTTP/1.1 200")
    assert headers["content-type"] == "text/event-stream"
    assert headers["cache-control"] == "no-cache"


def test_httpx_sse_client_with_the_session_cookie(module_testbed: LocalTestbed) -> None:
    tag = unique("httpx-sse")
    with http(module_testbed) as client:
        login(client)  # the cookie jar now holds session_id: no header below
        with connect_sse(client, "GET", "/events") as source:
            assert source.response.status_code == 200  # headers arrive once subscribed
            fire(module_testbed, tag, {"hello": "httpx-sse"})
            deadline = Deadline(30)
            seen = []
            for event in source.iter_sse():
                seen.append(event)
                if event.json()["tag"] == tag or deadline.expired:
                    break
    assert seen[0].retry == 400
    assert seen[-1].json()["tag"] == tag, [e.data[:80] for e in seen]
    assert seen[-1].json()["data"]["hello"] == "httpx-sse"


def test_websocket_receives_one_json_message_per_event(
    module_testbed: LocalTestbed, token: str
) -> None:
    tag = unique("ws")
    url = f"{base_url(module_testbed).replace('https', 'wss')}/ws"

    async def listen() -> dict[str, Any]:
        async with (
            aiohttp.ClientSession() as session,
            session.ws_connect(url, headers={"X-Auth-Token": token}, ssl=False) as ws,
            asyncio.timeout(30),
        ):
            fire(module_testbed, tag, {"hello": "ws"})  # the handshake is done: subscribed
            async for message in ws:
                body: dict[str, Any] = json.loads(message.data)
                if body["tag"] == tag:
                    return body
        raise AssertionError("the WebSocket closed before the event")

    body = asyncio.run(listen())
    assert body["data"]["hello"] == "ws" and set(body) == {"data", "tag"}


# -- probes ------------------------------------------------------------------------------
PROBES = ("saltsim/listener/ready", "saltsim/api/ready")


def _fire_probes_then(bed: LocalTestbed, tag: str) -> None:
    """Probes as listeners fire them (one listener's own probe included), then ``tag``."""
    with bed.listener() as events:
        for prefix in PROBES:
            assert events.fire_event({"probe": "x"}, f"{prefix}/{uuid.uuid4().hex}")
        assert events.fire_event({"hello": "after probes"}, tag)


@pytest.mark.parametrize("probes", [False, True], ids=["hidden", "asked-for"])
def test_listener_probes_stay_off_the_sse_stream_unless_asked(
    module_testbed: LocalTestbed, token: str, probes: bool
) -> None:
    url = f"{base_url(module_testbed)}/events" + ("?probes=true" if probes else "")
    proc, reader = curl_events(url, "-H", f"X-Auth-Token: {token}")
    tag = unique("probes")
    try:
        deadline = Deadline(30)
        assert reader.line(deadline) == "retry: 400"
        _fire_probes_then(module_testbed, tag)
        seen = [event.tag for event in reader.until_tag(tag, deadline)]
    finally:
        proc.kill()
        proc.wait()
    shown = {prefix for prefix in PROBES if any(t.startswith(f"{prefix}/") for t in seen)}
    assert shown == (set(PROBES) if probes else set()), seen


def test_listener_probes_stay_off_the_websocket(module_testbed: LocalTestbed, token: str) -> None:
    tag = unique("ws-probes")
    url = f"{base_url(module_testbed).replace('https', 'wss')}/ws"

    async def listen() -> list[str]:
        seen: list[str] = []
        async with (
            aiohttp.ClientSession() as session,
            session.ws_connect(url, headers={"X-Auth-Token": token}, ssl=False) as ws,
            asyncio.timeout(30),
        ):
            await asyncio.to_thread(_fire_probes_then, module_testbed, tag)
            async for message in ws:
                seen.append(json.loads(message.data)["tag"])
                if seen[-1] == tag:
                    return seen
        raise AssertionError(f"the WebSocket closed before the event: {seen}")

    seen = asyncio.run(listen())
    assert not [t for t in seen if t.startswith(PROBES)], seen


def test_a_bad_probes_value_is_a_400(module_testbed: LocalTestbed, token: str) -> None:
    with http(module_testbed) as client:
        reply = client.get("/events?probes=maybe", headers={"X-Auth-Token": token})
    assert reply.status_code == 400 and "probes must be true or false" in reply.json()["error"]


# -- the browser ----------------------------------------------------------------------------
PAGE = """<!doctype html><html><body><ul id="tags"></ul>
<script>
const source = new EventSource("%(api)s/events?token=%(token)s");
source.onopen = () => fetch("/armed");
source.onmessage = (message) => {
  const event = JSON.parse(message.data);
  const item = document.createElement("li");
  item.textContent = event.tag + " " + JSON.stringify(event.data.hello);
  document.getElementById("tags").appendChild(item);
  if (event.tag === "%(tag)s") { source.close(); fetch("/got"); }
};
</script>
<img src="/hold"></body></html>"""


class PageServer(ThreadingHTTPServer):
    """Serves the page and learns from it: the page's load (hence Chromium's DOM dump)
    waits for ``/hold``, answered only once the page has reported the event."""

    def __init__(self, page: str) -> None:
        self.page = page.encode()
        self.armed, self.got, self.release = threading.Event(), threading.Event(), threading.Event()
        super().__init__(("127.0.0.1", 0), _PageHandler)


class _PageHandler(BaseHTTPRequestHandler):
    server: PageServer

    def do_GET(self) -> None:
        if self.path == "/hold":
            self.server.release.wait(60)
        {"/armed": self.server.armed, "/got": self.server.got}.get(
            self.path, threading.Event()
        ).set()
        body = self.server.page if self.path == "/page.html" else b""
        self.send_response(200 if body else 204)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_browser_eventsource_receives_a_fired_event(
    module_testbed: LocalTestbed, token: str, tmp_path: Path
) -> None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, "chromium is not installed: run `make test-deps`"
    tag = unique("browser")
    server = PageServer(PAGE % {"api": base_url(module_testbed), "token": token, "tag": tag})
    threading.Thread(target=server.serve_forever, daemon=True).start()
    argv = [chromium, "--headless", "--no-sandbox", "--disable-gpu"]
    argv += ["--ignore-certificate-errors", f"--user-data-dir={tmp_path / 'profile'}"]
    browser = subprocess.Popen(
        [*argv, "--dump-dom", f"http://127.0.0.1:{server.server_address[1]}/page.html"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        deadline = Deadline(60)
        assert server.armed.wait(deadline.remaining()), "EventSource never opened"
        fire(module_testbed, tag, {"hello": "browser"})
        assert server.got.wait(deadline.remaining()), "the page did not see the event"
        server.release.set()
        dom, _ = browser.communicate(timeout=max(deadline.remaining(), 1))
    finally:
        server.release.set()
        browser.kill()
        browser.wait()
        server.shutdown()
        server.server_close()
    assert f'<li>{tag} "browser"</li>' in dom
