"""Where a CLI tool finds the master's bus: ``-c master.yaml``, ``--master`` or the environment.

On the master's own machine the bus is two ``ipc://`` sockets in its sock_dir (a 0700
directory): ``-c master.yaml`` names it, and without any option the environment does
(``SALTSIM_SOCK_DIR`` / ``SALTSIM_PKI_DIR``, as inside the master container), else the
default master's. A tool on another machine (the host of a docker stack) names the master
with ``--master HOST`` (or ``SALTSIM_MASTER``) and reaches its bus over TCP, which the
master serves only with ``bus_remote``: with CURVE (the default in compose) the tool needs
the master's bus public key (``SALTSIM_BUS_SERVER_KEY``, else the master's ``pki/bus.pub``
read in the container that publishes the bus port: ``saltsim.cli.credentials``)
and a key pair of its own, kept in ``SALTSIM_BUS_CLIENT_KEY`` (default
``<per-user base>/bus-client.key``, made on first use; ``saltsim key --gen-bus-key`` prints
its public half, which the master lists in ``bus_curve_clients``).
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
from collections.abc import Mapping
from pathlib import Path

from saltsim.cli.credentials import container_secret
from saltsim.config import ENV_PREFIX, bus_ipc_addresses, default_sock_dir, load_config
from saltsim.curve import CurveClient
from saltsim.private import default_base, private_dir

__all__ = [
    "BusTarget",
    "add_target_options",
    "bus_target",
    "connectable",
    "default_client_key",
    "names_a_master",
]

log = logging.getLogger(__name__)

_WILDCARDS = ("", "0.0.0.0", "::", "*")


def default_client_key() -> str:
    """This user's bus client key file (0600 in the private base), made on first use."""
    return str(default_base() / "bus-client.key")


@dataclasses.dataclass(frozen=True)
class BusTarget:
    """The master's bus as a client reaches it."""

    master: str = ""  # the master's address; empty: this machine's, over ipc:// in sock_dir
    bus_pub_port: int = 4512  # the bus PUB: listeners (with master)
    bus_pull_port: int = 4513  # the bus PULL: firers (with master)
    sock_dir: str = ""  # the master's sock_dir (without master)
    bus_server_key: str = ""  # the master's bus public key: CURVE over TCP (with master)
    bus_client_key: str = ""  # file of this client's CURVE secret key (default: private base)

    @property
    def pub(self) -> str:
        if not self.master:
            return bus_ipc_addresses(self.sock_dir)[1]
        return f"tcp://{self.master}:{self.bus_pub_port}"

    @property
    def pull(self) -> str:
        if not self.master:
            return bus_ipc_addresses(self.sock_dir)[0]
        return f"tcp://{self.master}:{self.bus_pull_port}"

    @property
    def curve(self) -> CurveClient | None:
        """CURVE keys for a TCP bus when the master's key is known; None: plain."""
        if not (self.master and self.bus_server_key):
            return None
        if not self.bus_client_key:
            private_dir(default_base())  # made 0700 on first use, as --gen-bus-key does
        key_file = self.bus_client_key or default_client_key()
        return CurveClient.from_secret_file(self.bus_server_key, key_file)


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


def _local_sock_dir(environ: Mapping[str, str]) -> str:
    """This machine's master's sock_dir as ``MasterConfig`` derives it from the environment
    (``SALTSIM_SOCK_DIR``, else beside ``SALTSIM_PKI_DIR``, else the per-user default),
    without importing the master (a minion image has none)."""
    if sock_dir := environ.get(f"{ENV_PREFIX}SOCK_DIR"):
        return sock_dir
    if pki_dir := environ.get(f"{ENV_PREFIX}PKI_DIR"):
        return str(Path(pki_dir).parent / "sock")
    return str(default_sock_dir(environ))


def bus_target(args: argparse.Namespace, env: Mapping[str, str] | None = None) -> BusTarget:
    """Precedence: defaults < the master's config file < ``SALTSIM_*`` < the command line.

    ``-c`` names this machine's master: its ipc sockets, or its TCP ports on its interface
    when ``--master`` or a bus port is given too. Without ``-c``, a master named
    (``--master``, ``SALTSIM_MASTER``, or only a bus port: 127.0.0.1) means TCP; else the
    ipc sockets of the master the environment configures.
    """
    environ = os.environ if env is None else env
    ports_given = bool(args.bus_pub_port or args.bus_pull_port)
    if getattr(args, "config", None):
        from saltsim_master.config import MasterConfig

        cfg = load_config(MasterConfig, args.config, env=environ)
        master = args.master or (connectable(cfg.interface) if ports_given else "")
        target = load_config(
            BusTarget,
            env=environ,
            master=master,
            bus_pub_port=args.bus_pub_port or cfg.bus_pub_port,
            bus_pull_port=args.bus_pull_port or cfg.bus_pull_port,
            sock_dir=cfg.sock_dir,
        )
    else:
        master = args.master
        if master is None and ports_given and f"{ENV_PREFIX}MASTER" not in environ:
            master = "127.0.0.1"
        target = load_config(
            BusTarget,
            env=environ,
            master=master,
            bus_pub_port=args.bus_pub_port,
            bus_pull_port=args.bus_pull_port,
            sock_dir=_local_sock_dir(environ),
        )
    if target.master and not target.bus_server_key:
        found, why = container_secret(target.master, target.bus_pub_port, "bus.pub")
        if found is not None:
            return dataclasses.replace(target, bus_server_key=found.decode().strip())
        log.warning(
            "no SALTSIM_BUS_SERVER_KEY, and %s: reaching %s's bus without CURVE, which only "
            "a master with bus_remote: plain lets in",
            why,
            target.master,
        )
    return target
