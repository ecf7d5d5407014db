"""Container healthchecks: ``python3 -m saltsim.health master|minion``.

Docker's view of health is only a hint for people running the compose file by
hand (``docker compose ps``); the testbed itself calls a component ready when
its event is on the bus. The master is healthy when its request server and bus
accept connections; a minion when it holds an established TCP connection to the
master's request port, read from ``/proc/net/tcp`` so no tool is needed.
"""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

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


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args == ["master"]:
        return 0 if master_healthy() else 1
    if args == ["minion"]:
        return 0 if minion_connected(int(os.environ.get("SALTSIM_MASTER_PORT", "4506"))) else 1
    print("usage: python -m saltsim.health master|minion", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
