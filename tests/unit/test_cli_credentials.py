"""The host's tools find a compose master's token and bus key in the container that
publishes its port (saltsim.cli.credentials), with a fake engine: no Docker here."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shlex
from pathlib import Path
from typing import Any

import pytest
import zmq

from saltsim.cli import credentials, main
from saltsim.cli.credentials import client_token, container_secret, publishes
from saltsim.cli.target import BusTarget, bus_target
from saltsim.errors import SaltsimError
from saltsim.masterclient import MasterError

BUS_PUB = zmq.curve_keypair()[0].decode()  # the master's bus public key


def ports(host_ip: str, public: int, private: int = 4506) -> list[dict[str, Any]]:
    return [{"IP": host_ip, "PrivatePort": private, "PublicPort": public, "Type": "tcp"}]


class FakeContainer:
    def __init__(self, cid: str, published: list[dict[str, Any]], files: dict[str, bytes]):
        self.id = cid
        self.attrs = {"Ports": published}
        self.files = files
        self.ran: list[list[str]] = []

    def exec_run(self, argv: list[str], demux: bool) -> tuple[int, tuple[bytes | None, bytes]]:
        assert demux
        self.ran.append(argv)
        if argv[-1] in self.files:
            return 0, (self.files[argv[-1]], b"")
        return 1, (None, f"cat: {argv[-1]}: No such file or directory\n".encode())


class FakeEngine:
    def __init__(self, containers: list[FakeContainer], env: list[str] | None = None) -> None:
        self.listed = containers
        self.env = env or []
        self.closed = False
        engine = self

        class Containers:
            def list(self, sparse: bool) -> list[FakeContainer]:
                assert sparse  # no inspection of every container of the engine
                return engine.listed

        class Api:
            def inspect_container(self, cid: str) -> dict[str, Any]:
                return {"Name": f"/stack_{cid}_1", "Config": {"Env": engine.env}}

        self.containers = Containers()
        self.api = Api()

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def engine(monkeypatch: pytest.MonkeyPatch) -> FakeEngine:
    fake = FakeEngine([])
    monkeypatch.setattr(credentials, "_engine", lambda: fake)
    return fake


def test_publishes_matches_the_address_and_the_host_port() -> None:
    assert publishes(ports("127.0.0.1", 4506), "127.0.0.1", 4506)
    assert publishes(ports("127.0.0.1", 4506), "localhost", 4506)
    assert publishes(ports("0.0.0.0", 4506), "127.0.0.1", 4506)  # every address
    assert publishes(ports("10.1.2.3", 14506), "10.1.2.3", 14506)
    assert not publishes(ports("127.0.0.1", 4506), "127.0.0.1", 14506)  # another port
    assert not publishes(ports("0.0.0.0", 4506), "10.1.2.3", 4506)  # another machine's
    assert not publishes([{"IP": "127.0.0.1", "PrivatePort": 4506, "Type": "tcp"}], "::1", 4506)
    udp = [{"IP": "127.0.0.1", "PrivatePort": 4506, "PublicPort": 4506, "Type": "udp"}]
    assert not publishes(udp, "127.0.0.1", 4506)


def test_the_token_is_read_in_the_container_that_publishes_the_port(engine: FakeEngine) -> None:
    other = FakeContainer("a", ports("127.0.0.1", 4506), {})
    master = FakeContainer(
        "b", ports("127.0.0.1", 14506), {"/srv/pki/client_token": b"tok-from-b\n"}
    )
    engine.listed, engine.env = [other, master], ["PATH=/bin", "SALTSIM_PKI_DIR=/srv/pki"]
    assert container_secret("127.0.0.1", 14506, "client_token") == (b"tok-from-b\n", "")
    assert master.ran == [["cat", "/srv/pki/client_token"]] and other.ran == []
    assert engine.closed


def test_a_master_still_starting_is_a_clear_error(engine: FakeEngine) -> None:
    engine.listed = [FakeContainer("m", ports("127.0.0.1", 4506), {})]
    with pytest.raises(SaltsimError) as failure:
        container_secret("127.0.0.1", 4506, "client_token")
    message = str(failure.value)
    assert "/var/lib/saltsim/master/pki/client_token in container stack_m_1" in message
    assert "No such file" in message and "saltsim.health master --wait 60" in message


def test_without_an_engine_or_a_container_the_local_token_is_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_engine() -> Any:
        raise ConnectionError("Permission denied")

    monkeypatch.setattr(credentials, "_engine", no_engine)
    (tmp_path / "client_token").write_text("local\n")
    os.chmod(tmp_path / "client_token", 0o600)
    assert client_token(str(tmp_path), "127.0.0.1", 4506) == "local"
    os.unlink(tmp_path / "client_token")
    with pytest.raises(MasterError) as failure:
        client_token(str(tmp_path), "127.0.0.1", 4506)
    assert "no such file" in str(failure.value)
    assert "no Docker engine to ask which container publishes 127.0.0.1:4506" in str(failure.value)
    assert "Permission denied" in str(failure.value)


def test_a_container_wins_over_a_stale_local_token(tmp_path: Path, engine: FakeEngine) -> None:
    (tmp_path / "client_token").write_text("stale")
    os.chmod(tmp_path / "client_token", 0o600)
    engine.listed = [FakeContainer("m", ports("0.0.0.0", 4506), {_pki("client_token"): b"c"})]
    assert client_token(str(tmp_path), "127.0.0.1", 4506) == "c"
    assert client_token(str(tmp_path)) == "stale"  # no master named: this machine's


def _pki(name: str) -> str:
    return f"{credentials.CONTAINER_PKI}/{name}"


def _args(**given: Any) -> argparse.Namespace:
    base = {"config": None, "master": None, "bus_pub_port": None, "bus_pull_port": None}
    return argparse.Namespace(**(base | given))


def test_the_bus_key_is_read_in_the_container_that_publishes_the_bus(engine: FakeEngine) -> None:
    master = FakeContainer(
        "m", ports("127.0.0.1", 14512, 4512), {_pki("bus.pub"): BUS_PUB.encode()}
    )
    engine.listed = [master]
    target = bus_target(_args(master="127.0.0.1"), env={"SALTSIM_BUS_PUB_PORT": "14512"})
    assert target.bus_server_key == BUS_PUB
    given = {"SALTSIM_BUS_PUB_PORT": "14512", "SALTSIM_BUS_SERVER_KEY": "given"}
    master.ran.clear()
    assert bus_target(_args(master="127.0.0.1"), env=given).bus_server_key == "given"
    assert master.ran == []  # the environment wins; the engine is not asked
    assert bus_target(_args(), env={}).bus_server_key == ""  # ipc: no key, no engine


def test_no_container_for_the_bus_warns_and_goes_plain(
    engine: FakeEngine, caplog: pytest.LogCaptureFixture
) -> None:
    target = bus_target(_args(master="127.0.0.1"), env={})
    assert target.bus_server_key == "" and target.curve is None
    assert "no running container of this machine's engine publishes 127.0.0.1:4512" in caplog.text


def test_gen_bus_key_export_is_the_shell_line_for_compose(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SALTSIM_BUS_CLIENT_KEY", str(tmp_path / "keys" / "bus-client.key"))
    assert main(["key", "--gen-bus-key"]) == 0
    public = capsys.readouterr().out.strip()
    assert main(["key", "--gen-bus-key", "--export"]) == 0
    words = shlex.split(capsys.readouterr().out)
    assert words[0] == "export" and words[1].partition("=")[::2] == (
        "SALTSIM_BUS_CURVE_CLIENTS",
        json.dumps([public]),
    )
    assert os.stat(tmp_path / "keys" / "bus-client.key").st_mode & 0o777 == 0o600


def _master_args(**given: Any) -> argparse.Namespace:
    return _args(**({"timeout": None} | given))


def test_the_cli_asks_the_engine_only_for_a_named_master(
    tmp_path: Path, engine: FakeEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    from saltsim.cli.master import _client

    pki = tmp_path / "pki"
    pki.mkdir(mode=0o700)
    (pki / "client_token").write_text("mine")
    os.chmod(pki / "client_token", 0o600)
    config = tmp_path / "master.yaml"
    config.write_text(f"pki_dir: {pki}\nret_port: 14506\n")
    files = {_pki("client_token"): b"theirs", _pki("bus.pub"): BUS_PUB.encode()}
    published = ports("127.0.0.1", 14506) + ports("127.0.0.1", 4512, 4512)
    engine.listed = [FakeContainer("m", published, files)]
    for name in ("SALTSIM_MASTER", "SALTSIM_RET_PORT", "SALTSIM_BUS_SERVER_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SALTSIM_BUS_CLIENT_KEY", str(tmp_path / "bus-client.key"))
    with _client(_master_args(config=str(config))) as client:  # -c: that master's own pki
        assert client._token == "mine" and engine.listed[0].ran == []
    monkeypatch.setenv("SALTSIM_MASTER", "127.0.0.1")  # named by the environment
    monkeypatch.setenv("SALTSIM_RET_PORT", "14506")
    monkeypatch.setenv("SALTSIM_PKI_DIR", str(pki))
    with _client(_master_args()) as client:
        assert client._token == "theirs"
        assert client.ret_address == "tcp://127.0.0.1:14506"
        assert client.bus_curve is not None and client.bus_curve.server_key == BUS_PUB.encode()


def test_the_default_client_key_is_made_in_a_new_private_base(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A tool run before --gen-bus-key makes the base 0700 itself, not a FileNotFoundError."""
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    monkeypatch.delenv("SALTSIM_BUS_CLIENT_KEY", raising=False)
    target = dataclasses.replace(BusTarget(), master="127.0.0.1", bus_server_key=BUS_PUB)
    assert target.curve is not None
    assert os.stat(tmp_path / "saltsim").st_mode & 0o777 == 0o700
    assert os.stat(tmp_path / "saltsim" / "bus-client.key").st_mode & 0o777 == 0o600
