"""Presence ticks without sockets: ``salt/presence/present`` every tick, ``change`` with the
new and lost minions only when the set changed, nothing with presence events off; only
accepted minions with a used, open, recently heard session count."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from saltsim_master.config import MasterConfig
from saltsim_master.keys import KeyStore
from saltsim_master.presence import Presence
from saltsim_master.sessions import Sessions

from saltsim.crypto import new_session_key


class Core:
    def __init__(self, tmp_path: Path, **options: Any) -> None:
        self.config = MasterConfig(pki_dir=str(tmp_path), heartbeat_timeout=10.0, **options)
        self.keys = KeyStore(tmp_path)
        self.sessions = Sessions()
        self.fired: list[tuple[str, dict[str, Any]]] = []

    def fire(self, tag: str, data: dict[str, Any]) -> None:
        self.fired.append((tag, data))

    def connect(self, minion_id: str) -> None:
        self.keys.put("accepted", minion_id, "pem")
        self.sessions.open(minion_id, new_session_key()).confirmed = True


def test_present_every_tick_and_change_only_when_it_changed(tmp_path: Path) -> None:
    core = Core(tmp_path, presence_events=True)
    presence = Presence(core)
    core.connect("m1")
    core.connect("m2")
    presence.tick()
    assert core.fired == [
        ("salt/presence/change", {"new": ["m1", "m2"], "lost": []}),
        ("salt/presence/present", {"present": ["m1", "m2"]}),
    ]
    core.fired.clear()
    presence.tick()
    assert core.fired == [("salt/presence/present", {"present": ["m1", "m2"]})]


def test_a_closed_session_and_a_deleted_key_are_lost(tmp_path: Path) -> None:
    core = Core(tmp_path, presence_events=True)
    presence = Presence(core)
    for minion_id in ("m1", "m2", "m3"):
        core.connect(minion_id)
    presence.tick()
    core.fired.clear()
    session = core.sessions.get("m1")
    assert session is not None
    session.closed = True  # _disconnect
    core.keys.remove("m2")  # key deleted: no longer counted, even with a session
    core.connect("m4")
    presence.tick()
    assert core.fired == [
        ("salt/presence/change", {"new": ["m4"], "lost": ["m1", "m2"]}),
        ("salt/presence/present", {"present": ["m3", "m4"]}),
    ]
    assert presence.present == {"m3", "m4"}


def test_a_silent_minion_is_lost_after_the_heartbeat_timeout(tmp_path: Path) -> None:
    core = Core(tmp_path, presence_events=True)
    presence = Presence(core)
    core.connect("m1")
    presence.tick()
    session = core.sessions.get("m1")
    assert session is not None
    session.last_seen -= 11.0
    core.fired.clear()
    presence.tick()
    assert core.fired[0] == ("salt/presence/change", {"new": [], "lost": ["m1"]})


def test_an_unused_session_or_an_unaccepted_key_is_not_present(tmp_path: Path) -> None:
    core = Core(tmp_path)
    presence = Presence(core)
    core.keys.put("accepted", "m1", "pem")
    core.sessions.open("m1", new_session_key())  # signed in, never used
    core.sessions.open("m2", new_session_key()).confirmed = True  # no accepted key
    assert presence.connected() == set()
    assert presence.accepted() == ["m1"]


def test_without_presence_events_a_tick_fires_nothing_but_tracks(tmp_path: Path) -> None:
    core = Core(tmp_path)
    presence = Presence(core)
    core.connect("m1")
    presence.tick()
    assert core.fired == [] and presence.present == {"m1"}
