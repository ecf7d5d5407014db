"""``full`` as Salt 3008's ``ClearFuncs._auth`` decides it: only when more minions than
``max_minions`` are connected and the asking id is not one of them (real Salt 3008.3
answered a new minion ``pend``, never ``full``, with max_minions 1 and one minion in)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from saltsim_master.auth import Authenticator
from saltsim_master.config import MasterConfig
from saltsim_master.keys import KeyStore
from saltsim_master.sessions import Sessions

from saltsim.crypto import new_session_key

PEM = "-----BEGIN PUBLIC KEY-----\nx\n-----END PUBLIC KEY-----"


def _auth(tmp_path: Path, connected: list[str], accepted: list[str]) -> Authenticator:
    fired: list[tuple[str, dict[str, Any]]] = []
    keys = KeyStore(tmp_path)
    for minion_id in accepted:
        keys.put("accepted", minion_id, PEM)
    sessions = Sessions()
    for minion_id in connected:
        # connected: a session its minion has used (a bare _auth is not presence yet)
        sessions.open(minion_id, new_session_key()).confirmed = True
    config = MasterConfig(max_minions=1, auto_accept=False)
    return Authenticator(config, keys, sessions, lambda t, d: fired.append((t, d)))


def test_a_limit_of_one_with_one_minion_connected_still_pends_a_new_one(tmp_path: Path) -> None:
    auth = _auth(tmp_path, connected=["m1"], accepted=["m1"])
    assert auth._decide("m3", PEM) == "pend"


def test_more_connected_than_the_limit_refuses_a_new_id_for_room(tmp_path: Path) -> None:
    auth = _auth(tmp_path, connected=["m1", "m2"], accepted=["m1", "m2"])
    assert auth._decide("m3", PEM) == "full"


def test_a_connected_minion_is_never_full(tmp_path: Path) -> None:
    auth = _auth(tmp_path, connected=["m1", "m2"], accepted=["m1", "m2"])
    assert auth._decide("m1", PEM) == "accept"


def test_accepted_keys_that_are_not_connected_take_no_room(tmp_path: Path) -> None:
    auth = _auth(tmp_path, connected=[], accepted=["m1", "m2"])
    assert auth._decide("m3", PEM) == "pend"
