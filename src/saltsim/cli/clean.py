"""``saltsim clean``: remove what the docker testbed left behind, found by its session label."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from saltsim.errors import EngineUnavailableError

__all__ = ["add_clean_command", "cmd_clean"]


def cmd_clean(args: argparse.Namespace) -> int:
    """Remove every saltsim container, network and volume, found by the session label."""
    from saltsim.testbed.docker_backend import clean

    try:
        removed = clean()
    except EngineUnavailableError as exc:
        print(f"saltsim: nothing to clean: {exc}", file=sys.stderr)
        return 0
    print(", ".join(f"{count} {kind}" for kind, count in removed.items()) + " removed")
    return 0


def add_clean_command(sub: Any) -> None:
    clean = sub.add_parser(
        "clean", help="remove every saltsim container, network and volume (by label)"
    )
    clean.set_defaults(func=cmd_clean)
