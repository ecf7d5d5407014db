"""Key actions without sockets: accept, reject, delete and their ``salt/key`` events; a
revoked key drops its session at once and makes a publish key rotation due, done (and
fired as ``key``) at the next tick; the ``key`` client command through the table."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from saltsim_master.commands import CommandTable
from saltsim_master.config import MasterConfig
from saltsim_master.keyactions import KeyActions
from saltsim_master.keys import KeyStore
from saltsim_master.registry import MinionCommand, Service, SignIn, SignInGate, Tick
from saltsim_master.sessions import Sessions

from saltsim.crypto import new_session_key

PEM = "-----BEGIN PUBLIC KEY-----\nm\n-----END PUBLIC KEY-----\n"


class Core:
    """KeyActions' context and a registry: key store, sessions, the bus as a list."""

    def __init__(self, tmp_path: Path, dialect: str = "3008") -> None:
        self.config = MasterConfig(pki_dir=str(tmp_path), dialect=dialect)
        self.keys = KeyStore(tmp_path)
        self.sessions = Sessions()
        self.fired: list[tuple[str, dict[str, Any]]] = []
        self.commands = CommandTable()
        self.ticks: list[Tick] = []

    def fire(self, tag: str, data: dict[str, Any]) -> None:
        self.fired.append((tag, data))

    def add_tick(self, hook: Tick) -> None:
        self.ticks.append(hook)

    def add_minion_command(self, name: str, handler: MinionCommand) -> None: ...
    def on_sign_in(self, handler: SignIn) -> None: ...
    def add_sign_in_gate(self, gate: SignInGate) -> None: ...
    def add_service(self, service: Service) -> None: ...
    def add_stats(self, name: str, source: Any) -> None: ...

    def tick(self) -> None:
        for hook in self.ticks:
            hook()


def _actions(tmp_path: Path, dialect: str = "3008") -> tuple[KeyActions, Core]:
    core = Core(tmp_path, dialect)
    actions = KeyActions(core)
    actions.register(core)
    for minion_id, state in (("m1", "pending"), ("m2", "accepted"), ("m3", "rejected")):
        core.keys.put(state, minion_id, PEM)
    core.sessions.open("m2", new_session_key())
    return actions, core


def test_accept_moves_pending_keys_and_fires_salt_key(tmp_path: Path) -> None:
    actions, core = _actions(tmp_path)
    assert actions.handle({"fun": "accept", "match": "*"}) == {
        "ok": True,
        "keys": {"pending": ["m1"]},
    }
    assert core.keys.state("m1") == "accepted" and core.keys.state("m3") == "rejected"
    assert core.fired == [("salt/key", {"result": True, "act": "accepted", "id": "m1", "pub": PEM})]
    assert not actions.rotation_due


def test_accept_with_include_rejected_takes_rejected_keys_too(tmp_path: Path) -> None:
    actions, core = _actions(tmp_path, dialect="3006")
    reply = actions.handle({"fun": "accept", "match": "m*", "include_rejected": True})
    assert reply["keys"] == {"pending": ["m1"], "rejected": ["m3"]}
    assert [data for _, data in core.fired] == [
        {"result": True, "act": "accept", "id": "m1"},
        {"result": True, "act": "accept", "id": "m3"},
    ]


def test_reject_revokes_the_session_and_rotates_at_the_next_tick(tmp_path: Path) -> None:
    actions, core = _actions(tmp_path)
    old_key = core.sessions.publish_key
    actions.handle({"fun": "reject", "match": "m2", "include_accepted": True})
    assert core.keys.state("m2") == "rejected" and core.sessions.get("m2") is None
    assert actions.rotation_due and core.sessions.publish_key == old_key
    core.tick()
    assert core.sessions.publish_key != old_key and not actions.rotation_due
    assert [tag for tag, _ in core.fired] == ["salt/key", "key"]
    assert core.fired[-1] == ("key", {"rotate_aes_key": True})
    core.tick()  # nothing due: no second rotation
    assert len(core.fired) == 2


def test_delete_removes_every_state_and_a_denied_key_silently(tmp_path: Path) -> None:
    actions, core = _actions(tmp_path)
    core.keys.put("denied", "m2", "other")
    reply = actions.handle({"fun": "delete", "match": "m2"})
    assert reply["keys"] == {"accepted": ["m2"], "denied": ["m2"]}
    assert core.keys.state("m2") is None and core.keys.list("denied") == []
    assert core.fired == [("salt/key", {"result": True, "act": "delete", "id": "m2"})]
    assert actions.rotation_due


def test_dry_run_changes_nothing(tmp_path: Path) -> None:
    actions, core = _actions(tmp_path)
    assert actions.handle({"fun": "delete", "match": "*", "dry_run": True})["keys"] == {
        "accepted": ["m2"],
        "pending": ["m1"],
        "rejected": ["m3"],
    }
    assert core.fired == [] and core.keys.state("m1") == "pending"


def test_the_key_command_is_registered_and_refuses_bad_loads(tmp_path: Path) -> None:
    _, core = _actions(tmp_path)
    listing = asyncio.run(core.commands.dispatch("key", {"fun": "list"}))
    assert listing["keys"]["pending"] == ["m1"]
    with pytest.raises(ValueError, match="unknown key action"):
        asyncio.run(core.commands.dispatch("key", {"fun": "explode"}))
    with pytest.raises(ValueError, match="non-empty glob"):
        asyncio.run(core.commands.dispatch("key", {"fun": "accept", "match": ""}))
