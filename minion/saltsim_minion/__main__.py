"""``python -m saltsim_minion``: one minion, or ``--swarm N`` minions in one process."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import sys
from typing import Any

import zmq.asyncio

from saltsim.config import load_config
from saltsim.containerid import container_name, id_from_container_name
from saltsim.errors import SaltsimError
from saltsim.logsetup import add_log_option, setup_logging
from saltsim.minionipc import socket_path
from saltsim.private import default_base
from saltsim_minion.config import MinionConfig
from saltsim_minion.ipc import LocalEvents
from saltsim_minion.minion import Minion
from saltsim_minion.swarm import Swarm, swarm_ids


async def _until_signal(main: Any) -> int:
    loop = asyncio.get_running_loop()
    task = asyncio.ensure_future(main)
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, task.cancel)
    with contextlib.suppress(asyncio.CancelledError):
        result = await task
        return int(result or 0)
    return 0


async def _one(config: MinionConfig) -> int:
    ctx = zmq.asyncio.Context()
    minion = Minion(config, ctx)
    # `saltsim event send` on this machine fires as this minion (salt-call event.send)
    local = LocalEvents(minion, ctx, socket_path(config.pki_dir))
    local.start()
    try:
        return await minion.run()
    except asyncio.CancelledError:
        await minion.goodbye()
        raise
    finally:
        local.close()
        minion.close()
        ctx.term()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="saltsim-minion", description="run saltsim minions")
    parser.add_argument("-c", "--config", help="minion YAML config file")
    parser.add_argument("--id", help="minion id (default: host name)")
    parser.add_argument("--master", help="master address")
    parser.add_argument("--master-port", type=int, help="master request port")
    parser.add_argument("--pki-dir", help="where the key pair is kept")
    parser.add_argument("--swarm", type=int, default=0, help="run N minions in this process")
    parser.add_argument("--prefix", default="swarm", help="swarm ids are PREFIX-1..PREFIX-N")
    parser.add_argument(
        "--keys-dir",
        default=str(default_base() / "swarm-keys"),
        help="swarm key cache, one folder per id (default: in the per-user private base)",
    )
    parser.add_argument(
        "--id-from-container",
        metavar="SERVICE",
        help="derive the id (or the swarm prefix) from this container's name: replica 3 of "
        "compose service SERVICE is SERVICE-3; SALTSIM_ID and --id still win",
    )
    add_log_option(parser)
    args = parser.parse_args(argv)
    setup_logging(args.log_level)
    try:
        if args.id_from_container and not (args.id or os.environ.get("SALTSIM_ID")):
            derived = id_from_container_name(container_name(), args.id_from_container)
            if args.swarm > 0:
                args.prefix = derived
            else:
                args.id = derived
        config = load_config(
            MinionConfig,
            args.config,
            id=args.id,
            master=args.master,
            master_port=args.master_port,
            pki_dir=args.pki_dir,
        )
    except SaltsimError as exc:
        print(f"saltsim-minion: error: {exc}", file=sys.stderr)
        return 2
    if args.swarm > 0:
        swarm = Swarm(config, swarm_ids(args.prefix, args.swarm), args.keys_dir)
        print(json.dumps({"swarm": args.swarm, "prefix": args.prefix}), flush=True)
        return asyncio.run(_until_signal(swarm.run()))
    return asyncio.run(_until_signal(_one(config)))


if __name__ == "__main__":
    sys.exit(main())
