"""Deliberately broken masters, to prove that the churn fuzzer finds real bugs.

``python -m saltsim.churn.broken BUG -c master.yaml`` runs the master built with one
broken part, ``python -m saltsim_master --bug BUG``; the broken parts are documented
subclasses in ``saltsim_master.bugs``. The tests keep each of them caught within the
default budget; ``saltsim fuzz --broken BUG`` shows a user what a caught bug looks like.

The names and descriptions are listed here so that choosing a bug does not import the
master (a unit test keeps them equal to ``saltsim_master.bugs.BUGS``).
"""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["BUGS", "BrokenMaster", "main"]


class BrokenMaster:
    """One broken master, by name; its ``__doc__`` says what is broken (``--list-broken``)."""

    def __init__(self, name: str, doc: str) -> None:
        self.name = name
        self.__doc__ = doc

    def command(self) -> list[str]:
        """The arguments of ``python -m saltsim_master`` that run it."""
        return ["--bug", self.name]


BUGS: dict[str, BrokenMaster] = {
    bug.name: bug
    for bug in (
        BrokenMaster(
            "presence-forgets-lost",
            "Presence never loses a minion: once connected, always reported present.",
        ),
        BrokenMaster(
            "bus-drops-events",
            "The bus stamps every event but, at random, publishes only 999 in 1000.",
        ),
        BrokenMaster(
            "start-before-auth",
            "An accepted sign-in's salt/auth is fired late, at the next maintenance tick, "
            "so a minion's start events reach the bus before it.",
        ),
        BrokenMaster(
            "key-keeps-deleted",
            "Deleting a key fires salt/key and drops the session, but the key file stays.",
        ),
    )
}


def main(argv: list[str] | None = None) -> Any:
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] not in BUGS:
        given = f"unknown bug {args[0]!r}; " if args else ""
        raise SystemExit(
            f"usage: python -m saltsim.churn.broken BUG [master options]; "
            f"{given}BUG is one of {', '.join(BUGS)}"
        )
    from saltsim_master.__main__ import main as master_main

    return master_main([*BUGS[args[0]].command(), *args[1:]])


if __name__ == "__main__":
    sys.exit(main())
