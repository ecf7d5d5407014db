"""Presence: which accepted minions are connected, and Salt's presence events at each tick.

A minion is connected while its session is confirmed, open and heard from within
``heartbeat_timeout`` (``sessions.py``) and its key is accepted. With
``presence_events`` each maintenance tick fires ``salt/presence/change`` ``{"new",
"lost"}`` when the set changed, then ``salt/presence/present`` ``{"present"}``.
"""

from __future__ import annotations

from typing import Protocol

from saltsim_master.context import KeyedCore
from saltsim_master.registry import Registry

__all__ = ["Presence", "PresenceContext"]


class PresenceContext(KeyedCore, Protocol):
    """What presence needs of the core: the keyed core (settings, keys, sessions, fire)."""


class Presence:
    """The connected minions now, and those of the last tick (``present``)."""

    def __init__(self, ctx: PresenceContext) -> None:
        self.ctx = ctx
        self.present: set[str] = set()

    def register(self, registry: Registry) -> None:
        registry.add_tick(self.tick)

    def accepted(self) -> list[str]:
        return self.ctx.keys.list("accepted")

    def connected(self) -> set[str]:
        accepted = set(self.ctx.keys.list("accepted"))
        return self.ctx.sessions.connected(self.ctx.config.heartbeat_timeout) & accepted

    def tick(self) -> None:
        connected = self.connected()
        if self.ctx.config.presence_events:
            new, lost = sorted(connected - self.present), sorted(self.present - connected)
            if new or lost:
                self.ctx.fire("salt/presence/change", {"new": new, "lost": lost})
            self.ctx.fire("salt/presence/present", {"present": sorted(connected)})
        self.present = connected
