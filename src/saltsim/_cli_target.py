"""Where a CLI tool finds the master's bus: ``-c master.yaml``, ``--master`` or the environment.

The master's config file is what ``saltsim cmd`` and friends read on the master's own
machine. A tool on another machine (the host of a docker stack) or in a container has no
such file, so ``--master HOST`` and the port options name the bus directly, and
``SALTSIM_MASTER`` / ``SALTSIM_BUS_PUB_PORT`` / ``SALTSIM_BUS_PULL_PORT`` fill in what the
command line leaves out; inside the master container (``SALTSIM_INTERFACE=0.0.0.0``) the
defaults reach the master on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
from collections.abc import Mapping

from saltsim.config import ENV_PREFIX, load_config

__all__ = ["BusTarget", "add_target_options", "bus_target", "connectable", "names_a_master"]

_WILDCARDS = ("", "0.0.0.0", "::", "*")


@dataclasses.dataclass(frozen=True)
class BusTarget:
    """The master's bus as a client reaches it."""

    master: str = "127.0.0.1"  # the master's address, as a minion's ``master`` option names it
    bus_pub_port: int = 4512  # the bus PUB: listeners
    bus_pull_port: int = 4513  # the bus PULL: firers

    @property
    def pub(self) -> str:
        return f"tcp://{self.master}:{self.bus_pub_port}"

    @property
    def pull(self) -> str:
        return f"tcp://{self.master}:{self.bus_pull_port}"


def connectable(interface: str) -> str:
    """The address to connect to for a master bound to ``interface`` (0.0.0.0 → loopback)."""
    return "127.0.0.1" if interface in _WILDCARDS else interface


def add_target_options(parser: argparse.ArgumentParser) -> None:
    """``--master`` and the bus ports (``-c`` is added by each command's own options)."""
    parser.add_argument(
        "--master",
        metavar="HOST",
        help="the master's address, without a config file (default: SALTSIM_MASTER, else "
        "127.0.0.1)",
    )
    parser.add_argument(
        "--bus-pub-port", type=int, metavar="PORT", help="the master's bus PUB port (4512)"
    )
    parser.add_argument(
        "--bus-pull-port", type=int, metavar="PORT", help="the master's bus PULL port (4513)"
    )


def names_a_master(args: argparse.Namespace) -> bool:
    """True when the command line says which master to use."""
    return any(
        getattr(args, name, None) is not None
        for name in ("config", "master", "bus_pub_port", "bus_pull_port")
    )


def bus_target(args: argparse.Namespace, env: Mapping[str, str] | None = None) -> BusTarget:
    """Precedence: defaults < the master's config file < ``SALTSIM_*`` < the command line."""
    environ = os.environ if env is None else env
    if getattr(args, "config", None):
        from saltsim_master.config import MasterConfig

        cfg = load_config(MasterConfig, args.config, env=environ)
        return BusTarget(
            master=args.master or connectable(cfg.interface),
            bus_pub_port=args.bus_pub_port or cfg.bus_pub_port,
            bus_pull_port=args.bus_pull_port or cfg.bus_pull_port,
        )
    master = args.master
    if master is None and f"{ENV_PREFIX}MASTER" not in environ:
        # inside the master's own container: its bind address, wildcard meaning loopback
        master = connectable(environ.get(f"{ENV_PREFIX}INTERFACE", ""))
    return load_config(
        BusTarget,
        env=environ,
        master=master,
        bus_pub_port=args.bus_pub_port,
        bus_pull_port=args.bus_pull_port,
    )
