"""``python -m saltsim_master``: run the master in the foreground."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys

from saltsim.config import load_config
from saltsim.daemon import add_log_option, setup_logging
from saltsim.errors import SaltsimError
from saltsim_master.config import MasterConfig
from saltsim_master.master import Master


async def _run(master: Master) -> None:
    loop = asyncio.get_running_loop()
    serving = asyncio.ensure_future(master.serve())
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, serving.cancel)
    with contextlib.suppress(asyncio.CancelledError):
        await serving


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="saltsim-master", description="run the saltsim master")
    parser.add_argument("-c", "--config", help="master YAML config file")
    add_log_option(parser)
    args = parser.parse_args(argv)
    setup_logging(args.log_level)
    try:
        config = load_config(MasterConfig, args.config)
        master = Master(config)
        addresses = master.start()
    except (SaltsimError, OSError) as exc:
        print(f"saltsim-master: error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps({"ready": True, **addresses}), flush=True)
    try:
        asyncio.run(_run(master))
    finally:
        master.close()
        print(json.dumps({"stopped": True, **master.stats()}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
