"""``_auth``: decide pend / accept / reject / denied / full as Salt's master does.

Fires ``salt/auth`` on every request (not once per minion), with docs/EVENTS.md's
payloads for each dialect. An invalid id or an unusable key is refused
(``Refused``, counted at the edge as ``bad auth``) and fires no event. An
accepted sign-in receives the publish key and a fresh per-minion request key,
both encrypted to the minion's own public key.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from saltsim.crypto import CryptoError, encrypt_to, load_public, new_session_key
from saltsim_master.config import MasterConfig
from saltsim_master.keys import KeyStore, valid_id
from saltsim_master.registry import Registry
from saltsim_master.reqserver import Refused
from saltsim_master.sessions import Sessions

__all__ = ["Authenticator"]


class Fire(Protocol):
    """The core's one publish path."""

    def __call__(self, tag: str, data: dict[str, Any]) -> None: ...


@dataclass
class Authenticator:
    """Answers ``_auth``: Salt's decision, its ``salt/auth`` event, and for an accepted key
    a new session with the keys the minion needs."""

    config: MasterConfig
    keys: KeyStore
    sessions: Sessions
    fire: Fire

    def register(self, registry: Registry) -> None:
        registry.on_sign_in(self.handle)

    def handle(self, load: dict[str, Any]) -> dict[str, Any]:
        minion_id, pem = load.get("id"), load.get("pub")
        if not valid_id(minion_id):
            raise Refused("bad auth", f"invalid minion id {str(minion_id)[:64]!r}")
        assert isinstance(minion_id, str)
        if not isinstance(pem, str):
            raise Refused("bad auth", "missing public key")
        try:
            public = load_public(pem)
        except CryptoError as exc:
            raise Refused("bad auth", str(exc)) from exc
        act = self._decide(minion_id, pem)
        self._fire_auth(act, minion_id, pem)
        if act != "accept":
            return {"ok": True, "act": act}
        request_key = new_session_key()
        self.sessions.open(minion_id, request_key)
        return {
            "ok": True,
            "act": "accept",
            "publish_key": encrypt_to(public, self.sessions.publish_key),
            "request_key": encrypt_to(public, request_key),
            "publish_port": self.config.publish_port,
        }

    def _full_for(self, minion_id: str) -> bool:
        """Salt 3008 (``ClearFuncs._auth``): refused for room only when more minions than
        ``max_minions`` are *connected* (not merely accepted) and this id is not one of
        them. The test is ``not len(connected) <= max_minions``, so with a limit of N a
        new minion is refused only once N + 1 are connected."""
        accepted = set(self.keys.list("accepted"))
        connected = self.sessions.connected(self.config.heartbeat_timeout) & accepted
        return len(connected) > self.config.max_minions and minion_id not in connected

    def _decide(self, minion_id: str, pem: str) -> str:
        """Salt's order: full, rejected, open mode, key mismatch, accepted, auto-accept."""
        keys, cfg = self.keys, self.config
        state = keys.state(minion_id)
        if cfg.max_minions and self._full_for(minion_id):
            return "full"
        if state == "rejected":
            return "reject"
        if cfg.open_mode:
            return self._store_accepted(minion_id, pem)
        if state is not None and keys.pub(minion_id, state) != pem:
            keys.put("denied", minion_id, pem)
            return "denied"
        if state == "accepted":
            return "accept"
        if cfg.auto_accept:
            return self._store_accepted(minion_id, pem)
        if state is None:
            keys.put("pending", minion_id, pem)
        return "pend"

    def _store_accepted(self, minion_id: str, pem: str) -> str:
        """Open mode and auto-accept: this key becomes the accepted one, whatever was there."""
        self.keys.remove(minion_id)
        self.keys.put("accepted", minion_id, pem)
        return "accept"

    def _fire_auth(self, act: str, minion_id: str, pem: str) -> None:
        data: dict[str, Any] = {
            "result": act in ("pend", "accept"),
            "act": act,
            "id": minion_id,
            "pub": pem,
        }
        if act == "reject" and self.config.dialect == "3006":
            del data["act"]
        self.fire("salt/auth", data)
