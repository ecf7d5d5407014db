"""Who reaches the master's bus (issue 12 item 4): by default only this user, over ipc://
in a 0700 directory; over TCP only a client holding keys the master was given (CURVE)."""

from __future__ import annotations

import os
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import zmq

from saltsim.bus import EventBus
from saltsim.client import EventClient
from saltsim.curve import CurveClient
from saltsim.errors import ConfigError
from saltsim.testbed.local import LocalTestbed
from saltsim.wire import pack_frame

pytestmark = pytest.mark.functional

DEADLINE = 30.0
QUIET_MS = 1500  # how long a refused client listens, bounded, to show that nothing comes


@pytest.fixture(scope="module")
def testbed_options() -> dict[str, Any]:
    """The module's shared master serves its bus on TCP with CURVE."""
    return {"master_options": {"bus_remote": "curve"}}


@pytest.fixture
def runtime_dir() -> Iterator[Path]:
    """A short private base for ``XDG_RUNTIME_DIR``: an ipc:// path must stay under 108
    bytes, which one under pytest's tmp_path may not (under xdist it is longer still)."""
    with tempfile.TemporaryDirectory(prefix="saltsim-xdg-") as path:
        yield Path(path)


def _sub(ctx: zmq.Context[Any], address: str, curve: CurveClient | None) -> zmq.Socket[Any]:
    sock: zmq.Socket[Any] = ctx.socket(zmq.SUB)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.SUBSCRIBE, b"")
    if curve is not None:
        curve.apply(sock)
    sock.connect(address)
    return sock


def _drain(sock: zmq.Socket[Any], wait_ms: int) -> list[bytes]:
    got: list[bytes] = []
    while sock.poll(wait_ms if not got else 0):
        got.append(sock.recv())
    return got


def test_default_bus_is_ipc_in_a_private_dir(
    runtime_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Defaults everywhere: the bus and a client meet on Salt's socket names in the
    per-user base's sock_dir, made 0700; nothing listens on TCP."""
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime_dir))
    with EventBus() as bus, EventClient() as client:
        sock_dir = runtime_dir / "saltsim" / "master" / "sock"
        assert bus.pub_address == f"ipc://{sock_dir}/master_event_pub.ipc"
        assert bus.pull_address == f"ipc://{sock_dir}/master_event_pull.ipc"
        assert (
            sock_dir.stat().st_mode & 0o777,
            (runtime_dir / "saltsim").stat().st_mode & 0o777,
        ) == (
            0o700,
            0o700,
        )
        client.wait_ready(10)
        assert client.pub_address == bus.pub_address


@pytest.mark.testbed_options()  # the defaults everywhere
def test_local_master_bus_has_no_tcp_port(testbed: LocalTestbed) -> None:
    with testbed.listener() as events:
        assert testbed.bus_pub.startswith("ipc://") and testbed.bus_curve is None
        assert Path(testbed.bus_pub[len("ipc://") :]).parent.stat().st_mode & 0o777 == 0o700
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", testbed.ports["bus_pub_port"]), timeout=5)
        assert events.fire_event({}, "test/local") and events.wait_for("test/local", DEADLINE)


def test_listener_without_keys_reads_nothing_and_cannot_fire(module_testbed: LocalTestbed) -> None:
    """The old bus served anyone on 4512/4513. Now a keyless client, or one with a key the
    master was not given, completes no handshake: it reads nothing and fires nothing."""
    bed = module_testbed
    assert bed.bus_curve is not None and bed.bus_pub.startswith("tcp://")
    stranger = CurveClient.generate(bed.bus_curve.server_key)
    ctx: zmq.Context[Any] = zmq.Context()
    try:
        with bed.listener() as events:
            keyless = _sub(ctx, bed.bus_pub, None)
            wrong_key = _sub(ctx, bed.bus_pub, stranger)
            for curve in (None, stranger):
                push = ctx.socket(zmq.PUSH)
                push.setsockopt(zmq.LINGER, 0)
                if curve is not None:
                    curve.apply(push)
                push.connect(bed.bus_pull)
                for _ in range(5):  # queued on a connection that never completes
                    push.send(pack_frame("salt/key", {"id": "evil", "act": "accept"}), zmq.NOBLOCK)
                push.close(0)
            for n in range(20):
                assert events.fire_event({"secret": n}, "salt/job/1/ret/web1")
            seen = events.collect(DEADLINE)
            assert [e.data["secret"] for e in seen if e.tag == "salt/job/1/ret/web1"] == list(
                range(20)
            )
            assert [e for e in seen if e.tag == "salt/key"] == []
            assert _drain(keyless, QUIET_MS) == [] and _drain(wrong_key, 0) == []
            keyless.close(0)
            wrong_key.close(0)
        with bed.client() as client:
            # a keyless client fails on the mechanism, before the authenticator is asked
            assert client.call({"cmd": "stats"}, timeout=10)["bus"]["curve_refused"] >= 1
    finally:
        ctx.term()


def test_listener_with_the_testbeds_keys_reads_and_fires(module_testbed: LocalTestbed) -> None:
    with module_testbed.recorder() as recorder:
        assert recorder.fire("test/curve", {"n": 1}) == 1
        assert recorder.wait_for("test/curve", DEADLINE).data == {"n": 1}


@pytest.mark.testbed_options(master_options={"bus_remote": "plain"})
def test_plain_remote_bus_is_an_explicit_loud_opt_in(testbed: LocalTestbed) -> None:
    with testbed.listener() as events:
        assert testbed.bus_curve is None and testbed.bus_pub.startswith("tcp://")
        assert events.fire_event({}, "test/plain") and events.wait_for("test/plain", DEADLINE)
        assert "WITHOUT CURVE" in testbed.logs("master")


def test_minion_default_pki_is_private(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from saltsim_minion.config import MinionConfig

    from saltsim.crypto import KeyPair

    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    pki = Path(MinionConfig(id="web1").pki_dir)
    assert pki == tmp_path / "saltsim" / "minion" / "web1" / "pki"
    KeyPair.load_or_create(pki)
    assert [oct(os.stat(p).st_mode & 0o777) for p in (tmp_path / "saltsim", pki)] == [
        "0o700",
        "0o700",
    ]


def test_a_second_bus_does_not_take_over_a_served_socket(
    runtime_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """libzmq replaces an ipc:// socket file silently: a second bus on the same sock_dir
    used to cut the running one off from every listener. Now it is refused; a stale file
    (nothing serving it) is still taken over."""
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime_dir))
    with EventBus() as bus, EventClient() as client:
        client.wait_ready(10)
        with pytest.raises(ConfigError, match="served by another bus"), EventBus():
            pass
        assert client.fire_event({"still": "served"}, "after/second")
        assert client.wait_for("after/second", 10).data == {"still": "served"}
        first = bus.pub_address
    stale = first[len("ipc://") :]
    Path(stale).unlink(missing_ok=True)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as leftover:
        leftover.bind(stale)  # a socket file whose owner is gone: nothing accepts on it
    with EventBus() as again:
        assert again.pub_address == first
