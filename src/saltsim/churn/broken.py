"""Deliberately broken masters, to prove that the churn fuzzer finds real bugs.

``python -m saltsim.churn.broken BUG -c master.yaml`` runs the usual master
with one bug patched in. The tests keep each of them caught within the default
budget; ``saltsim fuzz --broken BUG`` shows a user what a caught bug looks like.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

__all__ = ["BUGS", "apply"]


def _presence_forgets_lost() -> None:
    """Presence never loses a minion: once connected, always reported present."""
    from saltsim_master.sessions import Sessions

    real = Sessions.connected

    def connected(self: Sessions, timeout: float, now: float | None = None) -> set[str]:
        seen: set[str] = self.__dict__.setdefault("_ever", set())
        seen |= real(self, timeout, now)
        return set(seen)

    Sessions.connected = connected  # type: ignore[method-assign]


def _bus_drops_events() -> None:
    """The bus stamps every event but, at random, publishes only 999 in 1000."""
    import random

    from saltsim.bus import EventBus

    real = EventBus._restamp
    chance = random.Random()  # seeded from the OS: a different event each run

    def restamp(self: EventBus, frame: bytes) -> bytes | None:
        out = real(self, frame)
        return None if out is not None and chance.random() < 0.001 else out

    EventBus._restamp = restamp  # type: ignore[method-assign]


def _start_before_auth() -> None:
    """An accepted sign-in's salt/auth is fired late, at the next maintenance tick, so a
    minion's start events reach the bus before it."""
    from saltsim_master.auth import Authenticator
    from saltsim_master.master import Master

    real_fire = Authenticator._fire_auth
    real_tick = Master.maintenance_tick
    held: list[tuple[Authenticator, str, str, str]] = []

    def fire_auth(self: Authenticator, act: str, minion_id: str, pem: str) -> None:
        if act == "accept":
            held.append((self, act, minion_id, pem))
        else:
            real_fire(self, act, minion_id, pem)

    def tick(self: Master) -> None:
        while held:
            real_fire(*held.pop(0))
        real_tick(self)

    Authenticator._fire_auth = fire_auth  # type: ignore[method-assign]
    Master.maintenance_tick = tick  # type: ignore[method-assign]


def _key_keeps_deleted() -> None:
    """Deleting a key fires salt/key and drops the session, but the key file stays."""
    from saltsim_master.keyactions import KeyActions

    def delete(self: KeyActions, minion_id: str, state: str) -> None:
        self.master.fire("salt/key", {"result": True, "act": "delete", "id": minion_id})
        self._revoke(minion_id)

    KeyActions._delete = delete  # type: ignore[method-assign]


BUGS: dict[str, Callable[[], None]] = {
    "presence-forgets-lost": _presence_forgets_lost,
    "bus-drops-events": _bus_drops_events,
    "start-before-auth": _start_before_auth,
    "key-keeps-deleted": _key_keeps_deleted,
}


def apply(bug: str) -> None:
    try:
        BUGS[bug]()
    except KeyError:
        raise SystemExit(f"unknown bug {bug!r}; known: {', '.join(BUGS)}") from None


def main(argv: list[str] | None = None) -> Any:
    args = sys.argv[1:] if argv is None else argv
    if not args:
        raise SystemExit(
            f"usage: python -m saltsim.churn.broken BUG [master options]; "
            f"BUG is one of {', '.join(BUGS)}"
        )
    apply(args[0])
    from saltsim_master.__main__ import main as master_main

    return master_main(args[1:])


if __name__ == "__main__":
    sys.exit(main())
