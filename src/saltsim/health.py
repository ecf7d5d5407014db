"""Container healthchecks: ``python3 -m saltsim.health master|minion [--wait SECONDS]``.

Docker's view of health is only a hint for people running the compose file by
hand (``docker compose ps``); the testbed itself calls a component ready when
its event is on the bus. ``--wait SECONDS`` probes until healthy (exit 0) or the deadline
passes (exit 1), for a script that must not race a container's start, e.g. reading the
master's ``bus.pub`` right after ``docker compose up -d``. The master is healthy when its
request server and bus accept connections; a minion when it holds an established TCP
connection to the master's request port, read from ``/proc/net/tcp`` so no tool is needed.
"""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

from saltsim.deadline import Deadline

__all__ = ["main", "master_healthy", "minion_connected"]

_ESTABLISHED = "01"


def master_healthy(ports: tuple[int, ...] = (4506, 4512, 4513)) -> bool:
    for port in ports:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
        except OSError:
            return False
    return True


def minion_connected(master_port: int, proc_net: Path = Path("/proc/net")) -> bool:
    """An established connection whose remote port is ``master_port``."""
    for table in ("tcp", "tcp6"):
        try:
            lines = (proc_net / table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            established = len(fields) > 3 and fields[3] == _ESTABLISHED
            if established and int(fields[2].rsplit(":", 1)[1], 16) == master_port:
                return True
    return False


def _probe(kind: str) -> bool:
    if kind == "master":
        return master_healthy()
    return minion_connected(int(os.environ.get("SALTSIM_MASTER_PORT", "4506")))


def _wait_seconds(args: list[str]) -> float | None:
    """``[]`` is one probe (None); ``["--wait", "S"]`` a deadline of S seconds."""
    if not args:
        return None
    if len(args) == 2 and args[0] == "--wait":
        seconds = float(args[1])  # ValueError: a usage error below
        if seconds >= 0:
            return seconds
    raise ValueError(args)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    try:
        if not args or args[0] not in ("master", "minion"):
            raise ValueError(args)
        wait = _wait_seconds(args[1:])
    except ValueError:
        print("usage: python -m saltsim.health master|minion [--wait SECONDS]", file=sys.stderr)
        return 2
    if wait is None:
        return 0 if _probe(args[0]) else 1
    try:
        Deadline(wait).poll(lambda: _probe(args[0]), f"{args[0]} healthy", interval=0.2)
    except TimeoutError as exc:
        print(f"saltsim.health: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
