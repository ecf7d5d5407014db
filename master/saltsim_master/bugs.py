"""Deliberately broken parts, to prove that the churn fuzzer finds real bugs.

Each bug is a subclass of one part of the master with one documented defect; ``Bug``
names the parts a broken master is built with, and ``python -m saltsim_master --bug
NAME`` (what ``python -m saltsim.churn.broken NAME`` runs) builds the master with them.
A real master never uses this module. ``saltsim.churn.broken.BUGS`` lists the same names
(a unit test keeps them equal) without importing the master.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from saltsim.bus import EventBus
from saltsim_master.auth import Authenticator
from saltsim_master.keyactions import KeyActions
from saltsim_master.registry import Registry
from saltsim_master.sessions import Sessions

__all__ = ["BUGS", "Bug"]


class SessionsNeverLost(Sessions):
    """Presence never loses a minion: once connected, always reported present."""

    def __init__(self) -> None:
        super().__init__()
        self._ever: set[str] = set()

    def connected(self, timeout: float, now: float | None = None) -> set[str]:
        self._ever |= super().connected(timeout, now)
        return set(self._ever)


class BusDroppingEvents(EventBus):
    """The bus stamps every event but, at random, publishes only 999 in 1000."""

    _chance = random.Random()  # seeded from the OS: a different event each run

    def _restamp(self, frame: bytes) -> bytes | None:
        out = super()._restamp(frame)
        return None if out is not None and self._chance.random() < 0.001 else out


@dataclass
class AuthFiredLate(Authenticator):
    """An accepted sign-in's salt/auth is fired late, at the next maintenance tick, so a
    minion's start events reach the bus before it."""

    held: list[tuple[str, str, str]] = field(default_factory=list)

    def register(self, registry: Registry) -> None:
        super().register(registry)
        registry.add_tick(self.release)  # wired first: before presence, as the bug was

    def _fire_auth(self, act: str, minion_id: str, pem: str) -> None:
        if act == "accept":
            self.held.append((act, minion_id, pem))
        else:
            super()._fire_auth(act, minion_id, pem)

    def release(self) -> None:
        while self.held:
            super()._fire_auth(*self.held.pop(0))


class KeyActionsKeepDeleted(KeyActions):
    """Deleting a key fires salt/key and drops the session, but the key file stays."""

    def _delete(self, minion_id: str, state: str) -> None:
        self.ctx.fire("salt/key", {"result": True, "act": "delete", "id": minion_id})
        self._revoke(minion_id)


@dataclass(frozen=True)
class Bug:
    """The parts a master is built with; the defaults are the real ones."""

    sessions: type[Sessions] = Sessions
    bus: type[EventBus] = EventBus
    authenticator: type[Authenticator] = Authenticator
    key_actions: type[KeyActions] = KeyActions

    @property
    def doc(self) -> str:
        """What is broken: the docstring of the part that differs."""
        for part, real in (
            (self.sessions, Sessions),
            (self.bus, EventBus),
            (self.authenticator, Authenticator),
            (self.key_actions, KeyActions),
        ):
            if part is not real:
                return " ".join((part.__doc__ or "").split())
        return "no bug"


BUGS: dict[str, Bug] = {
    "presence-forgets-lost": Bug(sessions=SessionsNeverLost),
    "bus-drops-events": Bug(bus=BusDroppingEvents),
    "start-before-auth": Bug(authenticator=AuthFiredLate),
    "key-keeps-deleted": Bug(key_actions=KeyActionsKeepDeleted),
}
