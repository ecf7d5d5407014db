"""Hostile HTTP at the master's REST API while a live minion keeps answering.

Hypothesis-generated and hand-picked bodies (random bytes, invalid UTF-8, deep JSON,
huge form field counts, YAML alias bombs, wrong content types, huge headers) go to
``/login``, ``/``, ``/run``, ``/hook`` and ``/events``, with and without a token, and
raw sockets send garbage, half requests and nothing at all. Every answer must be an
HTTP answer below 500 (a 4xx for everything without credentials), within the client's
deadline; a minion answers ``test.ping`` through the master during the run and after
it. Bounded in examples and time; the counts print with ``-s`` (docs/SECURITY.md's figures).
"""

from __future__ import annotations

import json
import socket
import ssl
import threading
import time
from collections import Counter
from collections.abc import Iterator
from urllib.parse import quote

import httpx
import pytest
from hostile_support import pinged
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from saltsim.testbed.local import LocalTestbed

pytestmark = [pytest.mark.hostile, pytest.mark.functional]

USER, PASSWORD = "saltdev", "s3cret"
EXAMPLES = 500  # per Hypothesis run
BUDGET = 25.0  # seconds of fuzzing; past it the remaining examples send nothing
REPLY_DEADLINE = 10.0  # an answer slower than this is a hang
_SETTINGS = settings(
    max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck)
)

PATHS = ["/login", "/", "/run", "/hook/fuzz", "/hook", "/events", "/minions"]
CONTENT_TYPES = [
    "application/json",
    "application/x-www-form-urlencoded",
    "application/x-yaml",
    "text/yaml",
    "text/plain",
    "multipart/form-data; boundary=x",
    "application/octet-stream",
    "application/json; charset=latin-1",
    "",
]
YAML_BOMB = "a0: &a0 [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]\n" for i in range(1, 10)
)

_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=40,
)
_lowstate = st.fixed_dictionaries(
    {
        "client": st.sampled_from(["local", "runner", "wheel", "nope"]) | st.text(max_size=5),
        "fun": st.text(max_size=10),
        "username": st.sampled_from([USER, "root", ""]) | st.text(max_size=8),
        "password": st.text(max_size=8),
        "eauth": st.sampled_from(["auto", "pam"]),
    }
)
hook_paths = st.text(min_size=1, max_size=40).map(lambda t: "/hook/" + quote(t, safe="/%"))
bodies = st.one_of(
    st.binary(max_size=4096),
    st.text(max_size=2048).map(str.encode),
    _json_values.map(lambda v: json.dumps(v).encode()),
    st.lists(_lowstate, max_size=3).map(lambda v: json.dumps(v).encode()),
    st.integers(1, 200_000).map(lambda n: ("[" * n + "]" * n).encode()),
    st.integers(1, 200_000).map(lambda n: ('{"a":' * n + "1" + "}" * n).encode()),
    st.integers(1, 300_000).map(lambda n: "&".join(["a=b"] * n).encode()),
    st.integers(1, 100).map(lambda n: (YAML_BOMB * n).encode()),
    st.integers(1, 5_000).map(lambda n: ("- " * n + "x").encode()),
    st.binary(min_size=1, max_size=64).map(lambda b: b"\xff\xfe" + b + b"\xc3\x28"),
)


@pytest.fixture(scope="module")
def bed() -> Iterator[LocalTestbed]:
    options = {"api_users": {USER: PASSWORD}, "auto_accept": True, "api_header_timeout": 2.0}
    with LocalTestbed(master_options=options) as tb, tb.listener() as events:
        events.subscribe("salt/minion/")
        tb.add_minion("m1")
        events.wait_for("salt/minion/m1/start", 30)
        yield tb


class Pinger:
    """A thread that has the live minion answer ``test.ping`` over and over."""

    def __init__(self, bed: LocalTestbed) -> None:
        self.bed, self.answered, self.missed = bed, 0, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            if pinged(self.bed, "m1", timeout=20):
                self.answered += 1
            else:
                self.missed += 1

    def __enter__(self) -> Pinger:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(60)


class Sender:
    """Sends one request, records its status; after ``BUDGET`` seconds, sends nothing."""

    def __init__(self, bed: LocalTestbed) -> None:
        url = f"https://127.0.0.1:{bed.ports['api_port']}"
        self.client = httpx.Client(base_url=url, verify=False, timeout=REPLY_DEADLINE)
        reply = self.client.post(
            "/login", json={"username": USER, "password": PASSWORD, "eauth": "auto"}
        )
        self.token = reply.json()["return"][0]["token"]
        self.client.cookies.clear()  # authenticated only where the test sends the token
        self.statuses: Counter[int] = Counter()
        self.began = time.monotonic()

    def send(self, method: str, path: str, body: bytes, headers: dict[str, str]) -> int | None:
        if time.monotonic() - self.began > BUDGET:
            return None
        reply = self.client.request(method, path, content=body, headers=headers)
        self.statuses[reply.status_code] += 1
        assert reply.status_code < 500, (path, headers, body[:200], reply.text[:500])
        if reply.headers.get("Content-Type", "").startswith("application/json"):
            assert isinstance(reply.json(), dict)
        return reply.status_code


@pytest.fixture(scope="module")
def sender(bed: LocalTestbed) -> Iterator[Sender]:
    sender = Sender(bed)
    yield sender
    sender.client.close()
    total = sum(sender.statuses.values())
    fives = sum(n for status, n in sender.statuses.items() if status >= 500)
    print(f"\n{total} bodies to the API, {fives} 5xx: {dict(sorted(sender.statuses.items()))}")


def _headers(content_type: str, token: str | None) -> dict[str, str]:
    headers = {"Content-Type": content_type} if content_type else {}
    if token is not None:
        headers["X-Auth-Token"] = token
    return headers


def test_hypothesis_bodies_get_4xx_while_the_minion_answers(
    bed: LocalTestbed, sender: Sender
) -> None:
    @_SETTINGS
    @given(
        path=st.sampled_from(PATHS) | hook_paths,
        content_type=st.sampled_from(CONTENT_TYPES),
        body=bodies,
        authed=st.booleans(),
    )
    def fuzz(path: str, content_type: str, body: bytes, authed: bool) -> None:
        token = sender.token if authed and path not in ("/login", "/run") else None
        status = sender.send("POST", path, body, _headers(content_type, token))
        if status is not None and token is None:
            assert 400 <= status < 500, (path, body[:200], status)

    with Pinger(bed) as pinger:
        fuzz()
    assert pinger.missed == 0 and pinger.answered > 0
    assert pinged(bed, "m1")
    print(f"\nthe live minion answered {pinger.answered} pings during the run, and after")


HAND_PICKED: list[tuple[str, str, bytes, dict[str, str]]] = [
    ("POST", "/login", "&".join(["a"] * 240_000).encode(), {}),
    ("POST", "/run", (YAML_BOMB * 60).encode(), {"Content-Type": "application/x-yaml"}),
    ("POST", "/login", b"[" * 100_000 + b"]" * 100_000, {"Content-Type": "application/json"}),
    ("POST", "/", b"x" * (2 << 20), {"Content-Type": "text/plain"}),
    ("POST", "/login", b"\xff" * 1000, {"Content-Type": "application/json"}),
    ("POST", "/login", b"{}", {"X-Big": "x" * 100_000}),
    ("POST", "/login", b"{}", {f"X-H{i}": "v" for i in range(500)}),
    ("GET", "/events", b"", {"X-Auth-Token": "x" * 10_000}),
    ("GET", "/events?token=" + "a" * 7000, b"", {}),
    ("POST", "/events", b"{}", {}),
]


@pytest.mark.parametrize(("method", "path", "body", "extra"), HAND_PICKED)
def test_hand_picked_hostile_requests_get_4xx(
    sender: Sender, method: str, path: str, body: bytes, extra: dict[str, str]
) -> None:
    headers = {"Content-Type": "application/x-www-form-urlencoded", **extra}
    sender.began = time.monotonic()  # the hand-picked ones always run
    status = sender.send(method, path, body, headers)
    assert status is not None and 400 <= status < 500


RAW = [
    b"",  # connects and says nothing: closed after the handshake timeout
    b"\x16\x03\x01\x00\x05garbage",  # a broken TLS record
    b"GET / HTTP/1.1\r\n",  # TLS expected, plain HTTP sent
    bytes(range(256)) * 4,
]


def test_raw_garbage_and_silent_connections_are_closed(bed: LocalTestbed) -> None:
    address = ("127.0.0.1", bed.ports["api_port"])
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    half = context.wrap_socket(socket.create_connection(address))
    half.sendall(b"POST /login HTTP/1.1\r\nHost: x\r\n")  # headers never finished
    socks = [socket.create_connection(address) for _ in RAW]
    for sock, data in zip(socks, RAW, strict=True):
        sock.sendall(data)
    deadline = time.monotonic() + 30
    try:
        for sock in [*socks, half]:
            sock.settimeout(max(deadline - time.monotonic(), 0.1))
            try:
                while sock.recv(65536):
                    pass  # an alert or a 400, then the end
            except (ConnectionError, ssl.SSLError):
                pass  # reset: closed as well
    finally:
        for sock in [*socks, half]:
            sock.close()
    assert pinged(bed, "m1")
