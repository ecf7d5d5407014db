"""Helpers of the REST API tests: a testbed with API users, HTTP calls, stream readers.

Every reader waits on one deadline: it blocks on its pipe or socket for the time left
and, on timeout, fails with the lines it saw instead.
"""

from __future__ import annotations

import json
import os
import select
import socket
import subprocess
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from saltsim.deadline import Deadline
from saltsim.testbed.local import LocalTestbed

USER, PASSWORD = "saltdev", "s3cret"
CREDENTIALS = {"username": USER, "password": PASSWORD, "eauth": "auto"}
MINION = {"heartbeat_interval": 1, "acceptance_wait_time": 0.5}

# read(deadline) -> bytes, b"" at the end of the stream, None when the deadline passed
Read = Callable[[Deadline], bytes | None]


def api_options(**master_options: Any) -> dict[str, Any]:
    """``testbed_options`` of a testbed whose API knows ``USER``."""
    options = {"api_users": {USER: PASSWORD}, **master_options}
    return {"master_options": options, "minion_options": MINION}


def api_testbed(**master_options: Any) -> pytest.MarkDecorator:
    """``@api_testbed(...)``: this test's ``testbed`` has these master options, its API
    knowing ``USER``."""
    return pytest.mark.testbed_options.with_args(**api_options(**master_options))


def base_url(bed: LocalTestbed) -> str:
    scheme = "http" if bed.master_options.get("api_ssl") is False else "https"
    return f"{scheme}://127.0.0.1:{bed.ports['api_port']}"


def http(bed: LocalTestbed) -> httpx.Client:
    return httpx.Client(base_url=base_url(bed), verify=False, timeout=60)


def login(client: httpx.Client) -> str:
    reply = client.post("/login", json=CREDENTIALS)
    assert reply.status_code == 200, reply.text
    token: str = reply.json()["return"][0]["token"]
    return token


@dataclass(frozen=True)
class SseEvent:
    tag: str  # the "tag:" line
    body: dict[str, Any]  # the "data:" line, parsed: {"data": ..., "tag": ...}
    fields: dict[str, str]


class SseReader:
    """Lines and events of a Server-Sent Events body from any byte source."""

    def __init__(self, read: Read, name: str) -> None:
        self._read, self.name = read, name
        self._buffer = b""
        self.eof = False
        self.seen: deque[str] = deque(maxlen=20)

    def line(self, deadline: Deadline) -> str | None:
        """The next line; ``None`` at the end of the stream."""
        while b"\n" not in self._buffer:
            if self.eof:
                rest, self._buffer = self._buffer, b""
                return rest.decode() if rest else None
            chunk = self._read(deadline)
            if chunk is None:
                shown = "\n  ".join(self.seen) or "nothing"
                raise TimeoutError(f"{self.name}: stream stalled; last lines:\n  {shown}")
            if not chunk:
                self.eof = True
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\n", 1)
        text = raw.decode()
        self.seen.append(text[:200])
        return text

    def until_line(self, wanted: str, deadline: Deadline) -> None:
        while (line := self.line(deadline)) != wanted:
            if line is None:
                raise AssertionError(f"{self.name}: ended before {wanted!r}: {list(self.seen)}")

    def event(self, deadline: Deadline) -> SseEvent | None:
        """The next dispatched event (fields up to a blank line); ``None`` at the end."""
        fields: dict[str, str] = {}
        while (line := self.line(deadline)) is not None:
            if line:
                key, _, value = line.partition(": ")
                fields[key] = value
            elif "data" in fields:
                return SseEvent(fields.get("tag", ""), json.loads(fields["data"]), fields)
        return None

    def until_tag(self, tag: str, deadline: Deadline) -> list[SseEvent]:
        """Events up to and including the first with ``tag``."""
        got: list[SseEvent] = []
        while (event := self.event(deadline)) is not None:
            got.append(event)
            if event.tag == tag:
                return got
        raise AssertionError(f"{self.name}: ended before {tag}; last lines: {list(self.seen)}")


def pipe_read(fd: int) -> Read:
    def read(deadline: Deadline) -> bytes | None:
        ready, _, _ = select.select([fd], [], [], deadline.remaining())
        return os.read(fd, 65536) if ready else None

    return read


def curl_events(url: str, *args: str) -> tuple[subprocess.Popen[bytes], SseReader]:
    """``curl -NsSk URL ARGS``; its output as an ``SseReader``."""
    proc = subprocess.Popen(["curl", "-NsSk", url, *args], stdout=subprocess.PIPE)
    assert proc.stdout is not None
    return proc, SseReader(pipe_read(proc.stdout.fileno()), f"curl {url}")


class RawHttp:
    """One HTTP/1.1 GET over a plain socket the test controls (receive buffer, when to
    read), decoding a chunked body; for the stalled-client test."""

    def __init__(self, port: int, path: str, token: str, rcvbuf: int | None = None) -> None:
        self.sock = socket.socket()
        if rcvbuf is not None:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.connect(("127.0.0.1", port))
        request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Auth-Token: {token}\r\n\r\n"
        self.sock.sendall(request.encode())
        self._raw = b""
        self._done = False
        self.status = 0
        self.reader = SseReader(self.read, f"raw GET {path}")

    def _recv(self, deadline: Deadline) -> bytes | None:
        if deadline.expired:
            return None
        self.sock.settimeout(deadline.remaining())
        try:
            return self.sock.recv(1 << 20)
        except TimeoutError:
            return None

    def _decode(self) -> bytes:
        out = b""
        while not self._done:
            head, sep, rest = self._raw.partition(b"\r\n")
            if not sep:
                break
            size = int(head.split(b";")[0], 16)
            if size == 0:
                self._done = True
                break
            if len(rest) < size + 2:
                break
            out += rest[:size]
            self._raw = rest[size + 2 :]
        return out

    def read(self, deadline: Deadline) -> bytes | None:
        while True:
            if not self.status:
                if b"\r\n\r\n" in self._raw:
                    head, self._raw = self._raw.split(b"\r\n\r\n", 1)
                    self.status = int(head.split(b" ")[1])
                    continue
            elif out := self._decode():
                return out
            if self._done:
                return b""
            got = self._recv(deadline)
            if not got:
                return got
            self._raw += got

    def close(self) -> None:
        self.sock.close()
