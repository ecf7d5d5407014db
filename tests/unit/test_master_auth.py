"""Sign-in outcomes without sockets: accept, pend, reject, denied (an impostor), full, and
what each fires and answers; an accepted sign-in opens a session whose keys only the
minion can read."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from saltsim_master.auth import Authenticator
from saltsim_master.config import MasterConfig
from saltsim_master.keys import KeyStore
from saltsim_master.reqserver import Refused
from saltsim_master.sessions import Sessions

from saltsim.crypto import KeyPair, new_session_key

MINION = KeyPair.generate()
IMPOSTOR = KeyPair.generate()


class Signing:
    """An Authenticator on a key store in tmp_path; ``fired`` is the bus."""

    def __init__(self, tmp_path: Path, **options: Any) -> None:
        self.fired: list[tuple[str, dict[str, Any]]] = []
        self.keys = KeyStore(tmp_path / "pki")
        self.sessions = Sessions()
        config = MasterConfig(pki_dir=str(tmp_path / "pki"), **options)
        self.auth = Authenticator(config, self.keys, self.sessions, self._fire)

    def _fire(self, tag: str, data: dict[str, Any]) -> None:
        self.fired.append((tag, data))

    def sign_in(self, minion_id: str, pair: KeyPair = MINION) -> dict[str, Any]:
        return self.auth.handle({"cmd": "_auth", "id": minion_id, "pub": pair.public_pem})

    def acts(self) -> list[str | None]:
        return [data.get("act") for tag, data in self.fired if tag == "salt/auth"]


def test_a_new_key_pends_and_is_stored_as_pending(tmp_path: Path) -> None:
    master = Signing(tmp_path)
    assert master.sign_in("m1") == {"ok": True, "act": "pend"}
    assert master.keys.state("m1") == "pending"
    assert master.fired == [
        ("salt/auth", {"result": True, "act": "pend", "id": "m1", "pub": MINION.public_pem})
    ]
    assert master.sessions.get("m1") is None


def test_an_accepted_key_gets_a_session_and_keys_only_it_can_read(tmp_path: Path) -> None:
    master = Signing(tmp_path)
    master.keys.put("accepted", "m1", MINION.public_pem)
    answer = master.sign_in("m1")
    assert answer["act"] == "accept" and master.acts() == ["accept"]
    session = master.sessions.get("m1")
    assert session is not None
    assert MINION.decrypt(answer["publish_key"]) == master.sessions.publish_key
    assert session.cipher.open(session.cipher.seal({"x": 1})) == {"x": 1}
    assert MINION.decrypt(answer["request_key"])  # the session's key, to the minion only


def test_auto_accept_accepts_a_new_key(tmp_path: Path) -> None:
    master = Signing(tmp_path, auto_accept=True)
    assert master.sign_in("m1")["act"] == "accept"
    assert master.keys.state("m1") == "accepted"


def test_a_rejected_key_is_rejected_and_3006_leaves_out_act(tmp_path: Path) -> None:
    master = Signing(tmp_path, dialect="3006")
    master.keys.put("rejected", "m1", MINION.public_pem)
    assert master.sign_in("m1") == {"ok": True, "act": "reject"}
    assert master.fired == [("salt/auth", {"result": False, "id": "m1", "pub": MINION.public_pem})]


def test_an_impostor_is_denied_and_its_key_kept_aside(tmp_path: Path) -> None:
    master = Signing(tmp_path, auto_accept=True)
    master.keys.put("accepted", "m1", MINION.public_pem)
    assert master.sign_in("m1", IMPOSTOR)["act"] == "denied"
    assert master.keys.pub("m1", "accepted") == MINION.public_pem
    assert master.keys.pub("m1", "denied") == IMPOSTOR.public_pem
    assert master.fired[0][1]["result"] is False
    assert master.sessions.get("m1") is None


def test_open_mode_takes_even_a_changed_key(tmp_path: Path) -> None:
    master = Signing(tmp_path, open_mode=True)
    master.keys.put("accepted", "m1", MINION.public_pem)
    assert master.sign_in("m1", IMPOSTOR)["act"] == "accept"
    assert master.keys.pub("m1", "accepted") == IMPOSTOR.public_pem


def test_full_when_more_than_max_minions_are_connected(tmp_path: Path) -> None:
    master = Signing(tmp_path, max_minions=1, auto_accept=True)
    for minion_id in ("m1", "m2"):
        master.keys.put("accepted", minion_id, MINION.public_pem)
        master.sessions.open(minion_id, new_session_key()).confirmed = True
    assert master.sign_in("m3") == {"ok": True, "act": "full"}
    assert master.acts() == ["full"] and master.keys.state("m3") is None
    assert master.sign_in("m1")["act"] == "accept"  # a connected minion is never full


@pytest.mark.parametrize(
    ("load", "message"),
    [
        ({"id": "../etc", "pub": MINION.public_pem}, "invalid minion id"),
        ({"id": "m1"}, "missing public key"),
        ({"id": "m1", "pub": "not a key"}, "not a PEM public key"),
    ],
)
def test_a_bad_sign_in_is_refused_and_fires_nothing(
    tmp_path: Path, load: dict[str, Any], message: str
) -> None:
    master = Signing(tmp_path)
    with pytest.raises(Refused, match=message) as refused:
        master.auth.handle({"cmd": "_auth", **load})
    assert refused.value.reason == "bad auth"
    assert master.fired == [] and master.keys.state("m1") is None
