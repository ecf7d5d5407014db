"""salt-key through the running master: list, accept, reject, delete; ``salt/key`` events.

Like salt-key, ``accept`` acts on pending keys (and rejected ones with
``include_rejected``), ``reject`` on pending keys (and accepted ones with
``include_accepted``), ``delete`` on any. A reject or delete drops the minion's
session at once and rotates the publish key on the next maintenance tick (Salt's
``handle_key_rotate``, fired as ``key`` ``{"rotate_aes_key": true}``).

Registers the client command ``key`` and the rotation's tick hook.
"""

from __future__ import annotations

import fnmatch
from typing import Any, Protocol

from saltsim_master.context import KeyedCore
from saltsim_master.registry import Registry

__all__ = ["KeyActions", "KeyContext"]


class KeyContext(KeyedCore, Protocol):
    """What key actions need of the core: the keyed core (settings, keys, sessions, fire)."""


class KeyActions:
    """salt-key's actions on the key store; a revoked key makes a publish key rotation due."""

    def __init__(self, ctx: KeyContext) -> None:
        self.ctx = ctx
        self.rotation_due = False

    def register(self, registry: Registry) -> None:
        registry.commands.register("key", self._command)
        registry.add_tick(self.rotate_if_due)

    async def _command(self, load: dict[str, Any]) -> dict[str, Any]:
        return self.handle(load)

    def rotate_if_due(self) -> None:
        """The tick's key rotation: minions fail to decrypt the next publication and sign
        in again (presence runs first in a tick, as Salt's maintenance loop)."""
        if self.rotation_due:
            self.rotation_due = False
            self.ctx.sessions.rotate_publish_key()
            self.ctx.fire("key", {"rotate_aes_key": True})

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
        keys = self.ctx.keys
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
        keys = self.ctx.keys
        found = {s: [m for m in keys.list(s) if fnmatch.fnmatchcase(m, match)] for s in states}
        return {s: ids for s, ids in found.items() if ids}

    def _payload(self, act_3008: str, act_3006: str, minion_id: str) -> dict[str, Any]:
        if self.ctx.config.dialect == "3006":
            return {"result": True, "act": act_3006, "id": minion_id}
        return {
            "result": True,
            "act": act_3008,
            "id": minion_id,
            "pub": self.ctx.keys.pub(minion_id) or "",
        }

    def _accept(self, minion_id: str, state: str) -> None:
        self.ctx.keys.move(minion_id, state, "accepted")
        self.ctx.fire("salt/key", self._payload("accepted", "accept", minion_id))

    def _reject(self, minion_id: str, state: str) -> None:
        self.ctx.keys.move(minion_id, state, "rejected")
        self.ctx.fire("salt/key", self._payload("rejected", "reject", minion_id))
        self._revoke(minion_id)

    def _delete(self, minion_id: str, state: str) -> None:
        if state == "denied":
            self.ctx.keys.remove_denied(minion_id)
            return
        self.ctx.keys.remove(minion_id)
        self.ctx.fire("salt/key", {"result": True, "act": "delete", "id": minion_id})
        self._revoke(minion_id)

    def _revoke(self, minion_id: str) -> None:
        self.ctx.sessions.drop(minion_id)
        self.rotation_due = True
