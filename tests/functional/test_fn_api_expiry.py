"""Tokens expire (``api_token_expire``, tiny here): a stream open at that moment ends,
and the expired token gets 401 everywhere, with no events."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
import pytest
from api_support import api_options, base_url, curl_events, http, login

from saltsim.deadline import Deadline
from saltsim.testbed.local import LocalTestbed

pytestmark = pytest.mark.functional

LIFETIME = 3.0


@pytest.fixture(scope="module")
def testbed_options() -> dict[str, Any]:
    return api_options(api_token_expire=LIFETIME)


def test_an_sse_stream_ends_when_its_token_expires(module_testbed: LocalTestbed) -> None:
    with http(module_testbed) as client:
        token = login(client)
        logged_in = time.monotonic()
        proc, reader = curl_events(
            f"{base_url(module_testbed)}/events", "-H", f"X-Auth-Token: {token}"
        )
        try:
            deadline = Deadline(30)
            reader.until_line("retry: 400", deadline)
            while reader.line(deadline) is not None:
                pass  # until the server ends the stream
            ended = time.monotonic()
            assert proc.wait(10) == 0  # a clean end of the body, not a cut connection
        finally:
            proc.kill()
            proc.wait()
        assert ended - logged_in >= LIFETIME - 0.5
        for path in ("/events", "/keys"):
            reply = client.get(path, headers={"X-Auth-Token": token})
            assert reply.status_code == 401
            assert "expired" in reply.json()["error"] or "unknown" in reply.json()["error"]
            assert "retry" not in reply.text


def test_a_websocket_closes_when_its_token_expires(module_testbed: LocalTestbed) -> None:
    with http(module_testbed) as client:
        token = login(client)
    url = f"{base_url(module_testbed).replace('https', 'wss')}/ws"

    async def listen() -> tuple[int | None, int]:
        headers = {"X-Auth-Token": token}
        async with aiohttp.ClientSession() as session, asyncio.timeout(30):
            async with session.ws_connect(url, headers=headers, ssl=False) as ws:
                async for _message in ws:
                    pass  # until the server closes
                code = ws.close_code
            try:
                async with session.ws_connect(url, headers=headers, ssl=False):
                    return code, 101
            except aiohttp.WSServerHandshakeError as exc:
                return code, exc.status

    close_code, again = asyncio.run(listen())
    assert close_code == 1001  # going away: the token expired
    assert again == 401
