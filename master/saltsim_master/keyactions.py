"""salt-key through the running master: list, accept, reject, delete; ``salt/key`` events.

Like salt-key, ``accept`` acts on pending keys (and rejected ones with
``include_rejected``), ``reject`` on pending keys (and accepted ones with
``include_accepted``), ``delete`` on any. A reject or delete drops the minion's
session at once and rotates the publish key on the next maintenance tick.
"""

from __future__ import annotations

import fnmatch
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from saltsim_master.master import Master

__all__ = ["KeyActions"]


class KeyActions:
    def __init__(self, master: Master) -> None:
        self.master = master

    def handle(self, load: dict[str, Any]) -> dict[str, Any]:
        fun, match = load.get("fun"), load.get("match", "*")
        if not isinstance(match, str) or not match:
            raise ValueError("key match must be a non-empty glob")
        if fun == "list":
            return {"ok": True, "keys": self.listing()}
        if fun == "finger":
            return {"ok": True, "keys": self.listing()}
        sources = self._sources(fun, load)
        targets = self._matching(sources, match)
        if load.get("dry_run"):
            return {"ok": True, "keys": targets}
        done: dict[str, list[str]] = {}
        for state, ids in targets.items():
            for minion_id in ids:
                getattr(self, f"_{fun}")(minion_id, state)
                done.setdefault(state, []).append(minion_id)
        return {"ok": True, "keys": done}

    def listing(self) -> dict[str, list[str]]:
        keys = self.master.keys
        return {state: keys.list(state) for state in ("accepted", "denied", "pending", "rejected")}

    @staticmethod
    def _sources(fun: Any, load: dict[str, Any]) -> list[str]:
        if fun == "accept":
            return ["pending", "rejected"] if load.get("include_rejected") else ["pending"]
        if fun == "reject":
            return ["pending", "accepted"] if load.get("include_accepted") else ["pending"]
        if fun == "delete":
            return ["accepted", "pending", "rejected", "denied"]
        raise ValueError(f"unknown key action {fun!r}; use list, accept, reject or delete")

    def _matching(self, states: list[str], match: str) -> dict[str, list[str]]:
        keys = self.master.keys
        found = {s: [m for m in keys.list(s) if fnmatch.fnmatchcase(m, match)] for s in states}
        return {s: ids for s, ids in found.items() if ids}

    def _payload(self, act_3008: str, act_3006: str, minion_id: str) -> dict[str, Any]:
        if self.master.config.dialect == "3006":
            return {"result": True, "act": act_3006, "id": minion_id}
        return {
            "result": True,
            "act": act_3008,
            "id": minion_id,
            "pub": self.master.keys.pub(minion_id) or "",
        }

    def _accept(self, minion_id: str, state: str) -> None:
        self.master.keys.move(minion_id, state, "accepted")
        self.master.fire("salt/key", self._payload("accepted", "accept", minion_id))

    def _reject(self, minion_id: str, state: str) -> None:
        self.master.keys.move(minion_id, state, "rejected")
        self.master.fire("salt/key", self._payload("rejected", "reject", minion_id))
        self._revoke(minion_id)

    def _delete(self, minion_id: str, state: str) -> None:
        if state == "denied":
            self.master.keys.remove_denied(minion_id)
            return
        self.master.keys.remove(minion_id)
        self.master.fire("salt/key", {"result": True, "act": "delete", "id": minion_id})
        self._revoke(minion_id)

    def _revoke(self, minion_id: str) -> None:
        self.master.sessions.drop(minion_id)
        self.master.rotation_due = True
