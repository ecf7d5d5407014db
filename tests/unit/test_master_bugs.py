"""The wiring and the churn fuzzer's deliberately broken masters: ``build_master`` registers
every part; each bug is a documented subclass of one part, selected with ``--bug``, and
``saltsim.churn.broken`` lists the same bugs without importing the master."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from saltsim_master.__main__ import build_master, main
from saltsim_master.bugs import BUGS, AuthFiredLate, KeyActionsKeepDeleted, SessionsNeverLost
from saltsim_master.commands import CommandTable
from saltsim_master.config import MasterConfig
from saltsim_master.keys import KeyStore
from saltsim_master.registry import MinionCommand, Service, SignIn, SignInGate, Tick
from saltsim_master.sessions import Sessions

from saltsim.churn import broken
from saltsim.crypto import KeyPair, new_session_key


def _config(tmp_path: Path) -> MasterConfig:
    return MasterConfig(
        pki_dir=str(tmp_path / "pki"),
        cachedir=str(tmp_path / "cache"),
        sock_dir=str(tmp_path / "sock"),
        api_enabled=False,
    )


def test_the_churn_fuzzer_lists_the_masters_bugs() -> None:
    assert list(broken.BUGS) == list(BUGS)
    for name, bug in BUGS.items():
        assert broken.BUGS[name].__doc__ == bug.doc


def test_build_master_registers_every_client_command(tmp_path: Path) -> None:
    core = build_master(_config(tmp_path))
    try:
        assert core.commands.names() == [
            "info", "key", "local", "publish", "runner", "stats", "wheel"
        ]  # fmt: skip
        assert type(core.sessions) is Sessions
        assert core.stats()["api"] is None
    finally:
        core.close()


def test_build_master_with_a_bug_uses_its_part(tmp_path: Path) -> None:
    core = build_master(_config(tmp_path), "presence-forgets-lost")
    try:
        assert type(core.sessions) is SessionsNeverLost
    finally:
        core.close()


def test_an_unknown_bug_is_refused_by_the_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--bug", "nope"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'nope'" in capsys.readouterr().err


def test_presence_forgets_lost_keeps_a_silent_minion_connected() -> None:
    sessions = SessionsNeverLost()
    session = sessions.open("m1", new_session_key())
    session.confirmed = True
    assert sessions.connected(10.0, now=session.last_seen) == {"m1"}
    assert sessions.connected(10.0, now=session.last_seen + 60) == {"m1"}


class Registry:
    """A registry that keeps the sign-in handler and the tick hooks."""

    def __init__(self) -> None:
        self.commands = CommandTable()
        self.ticks: list[Tick] = []
        self.sign_in: SignIn | None = None

    def on_sign_in(self, handler: SignIn) -> None:
        self.sign_in = handler

    def add_tick(self, hook: Tick) -> None:
        self.ticks.append(hook)

    def add_minion_command(self, name: str, handler: MinionCommand) -> None: ...
    def add_sign_in_gate(self, gate: SignInGate) -> None: ...
    def add_service(self, service: Service) -> None: ...
    def add_stats(self, name: str, source: Any) -> None: ...


def test_start_before_auth_holds_an_accepted_salt_auth_until_the_tick(tmp_path: Path) -> None:
    fired: list[tuple[str, dict[str, Any]]] = []
    keys = KeyStore(tmp_path)
    pair = KeyPair.generate()
    keys.put("accepted", "m1", pair.public_pem)
    config = MasterConfig(pki_dir=str(tmp_path))
    registry = Registry()
    AuthFiredLate(config, keys, Sessions(), lambda t, d: fired.append((t, d))).register(registry)
    assert registry.sign_in is not None
    assert registry.sign_in({"id": "m1", "pub": pair.public_pem})["act"] == "accept"
    assert registry.sign_in({"id": "m2", "pub": pair.public_pem})["act"] == "pend"
    assert [data["id"] for _, data in fired] == ["m2"]
    for tick in registry.ticks:
        tick()
    assert [data["id"] for _, data in fired] == ["m2", "m1"]


def test_key_keeps_deleted_fires_but_keeps_the_file(tmp_path: Path) -> None:
    class Core:
        def __init__(self) -> None:
            self.config = MasterConfig(pki_dir=str(tmp_path))
            self.keys = KeyStore(tmp_path)
            self.sessions = Sessions()
            self.fired: list[tuple[str, dict[str, Any]]] = []

        def fire(self, tag: str, data: dict[str, Any]) -> None:
            self.fired.append((tag, data))

    core = Core()
    core.keys.put("accepted", "m1", "pem")
    actions = KeyActionsKeepDeleted(core)
    actions.handle({"fun": "delete", "match": "m1"})
    assert core.fired == [("salt/key", {"result": True, "act": "delete", "id": "m1"})]
    assert core.keys.state("m1") == "accepted" and actions.rotation_due
