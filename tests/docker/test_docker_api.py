"""The REST API in the master container (Debian bookworm's aiohttp 3.8), through the
published 127.0.0.1 port: login, SSE with curl, the WebSocket, a hook, lowstate ``local``
against a minion container. Users come in as ``SALTSIM_API_USERS`` (JSON), as a compose
user would set them."""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import aiohttp
import httpx
import pytest

from saltsim.testbed.docker_backend import DockerTestbed

pytestmark = [pytest.mark.docker, pytest.mark.usefixtures("docker_engine")]

USER, PASSWORD = "saltdev", "s3cret"


@pytest.fixture(scope="module")
def bed(docker_engine: None) -> Iterator[DockerTestbed]:
    with DockerTestbed(master_options={"api_users": {USER: PASSWORD}}) as testbed:
        yield testbed


def _url(bed: DockerTestbed) -> str:
    return f"https://127.0.0.1:{bed.ports['api_port']}"


def _login(bed: DockerTestbed) -> tuple[str, dict[str, str]]:
    """docs/rest-api.md's login command, as written: the token and the response's headers."""
    creds = json.dumps({"username": USER, "password": PASSWORD, "eauth": "auto"})
    json_body = ["-H", "Content-Type: application/json", "-d", creds]
    done = subprocess.run(
        ["curl", "-sSki", f"{_url(bed)}/login", *json_body],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    head, _, body = done.stdout.replace("\r\n", "\n").partition("\n\n")
    assert head.startswith("HTTP/1.1 200"), done.stdout
    headers = dict(line.split(": ", 1) for line in head.splitlines()[1:])
    token: str = json.loads(body)["return"][0]["token"]
    return token, headers


def test_the_container_serves_the_api_on_aiohttp_3_8(bed: DockerTestbed) -> None:
    token, headers = _login(bed)
    assert len(token) == 40 and headers["Set-Cookie"].startswith(f"session_id={token};")
    assert "aiohttp/3.8" in headers["Server"], headers["Server"]
    with httpx.Client(base_url=_url(bed), verify=False, timeout=60) as client:
        keys = client.get("/keys", headers={"X-Auth-Token": token})
        assert set(keys.json()["return"]) >= {"minions", "minions_pre", "minions_rejected"}
        assert client.get("/keys").status_code == 401


def test_sse_over_the_published_port_sees_a_hook(bed: DockerTestbed) -> None:
    token, _ = _login(bed)
    events = subprocess.Popen(
        ["curl", "-NsSk", f"{_url(bed)}/events", "-H", f"X-Auth-Token: {token}"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert events.stdout is not None
    try:
        assert events.stdout.readline() == "retry: 400\n"  # armed
        with httpx.Client(base_url=_url(bed), verify=False, timeout=60) as client:
            hooked = client.post(
                "/hook/docker/test", json={"from": "host"}, headers={"X-Auth-Token": token}
            )
            assert hooked.json() == {"success": True}
        deadline = time.monotonic() + 60
        lines = []
        for line in events.stdout:  # the hook's event is already on its way
            lines.append(line)
            if line == "tag: salt/netapi/hook/docker/test\n" or time.monotonic() > deadline:
                break
        data = json.loads(events.stdout.readline().removeprefix("data: "))
    finally:
        events.kill()
        events.wait()
    assert data["tag"] == "salt/netapi/hook/docker/test"
    assert data["data"]["post"] == {"from": "host"}


def test_websocket_and_lowstate_local_with_a_minion_container(bed: DockerTestbed) -> None:
    token, _ = _login(bed)
    with bed.recorder(ready_timeout=60) as recorder:
        bed.add_minion("api1")
        recorder.wait_for("salt/minion/api1/start", 90)

    async def run() -> tuple[dict[str, Any], dict[str, Any]]:
        headers = {"X-Auth-Token": token}
        async with aiohttp.ClientSession() as session, asyncio.timeout(60):
            ws_url = f"{_url(bed).replace('https', 'wss')}/ws"
            async with session.ws_connect(ws_url, headers=headers, ssl=False) as ws:
                chunk = {"client": "local", "tgt": "api1", "fun": "test.echo", "arg": ["hi"]}
                async with session.post(
                    f"{_url(bed)}/", json=[chunk], headers=headers, ssl=False
                ) as reply:
                    returned: dict[str, Any] = await reply.json()
                async for message in ws:
                    event: dict[str, Any] = json.loads(message.data)
                    if event["tag"].endswith("/ret/api1"):
                        return returned, event
        raise AssertionError("the WebSocket closed before the job's return")

    returned, event = asyncio.run(run())
    assert returned == {"return": [{"api1": "hi"}]}
    assert event["data"]["return"] == "hi" and event["data"]["user"] == USER
