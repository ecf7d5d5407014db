"""``python -m saltsim_master``: build the master from its parts and run it in the foreground.

``build_master`` is the one place that wires the parts into the core: each part is made
with the narrow context it needs (the core, and the few parts it uses) and registers
itself; the order of registration is the order of the tick hooks (presence, then the key
rotation, then the job cache's pruning, as Salt's maintenance loop).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys
from typing import Protocol

from saltsim.config import load_config
from saltsim.errors import SaltsimError
from saltsim.logsetup import add_log_option, setup_logging
from saltsim_master.api.server import RestApi
from saltsim_master.api.wheel import Wheel
from saltsim_master.bugs import BUGS, Bug
from saltsim_master.builtin_runners import JOB_RUNNERS, PLAIN_RUNNERS, PRESENCE_RUNNERS
from saltsim_master.cloud import CLOUD_RUNNERS, Cloud
from saltsim_master.config import MasterConfig
from saltsim_master.core import MasterCore
from saltsim_master.grains import GrainCache
from saltsim_master.jobs import JobCache
from saltsim_master.minionreq import MinionRequests
from saltsim_master.presence import Presence
from saltsim_master.publisher import JobPublisher
from saltsim_master.registry import Registry
from saltsim_master.runners import Runners

__all__ = ["build_master", "main"]


class _Part(Protocol):
    """A part as the wiring sees it: it registers itself with the core."""

    def register(self, registry: Registry) -> None: ...


def build_master(config: MasterConfig, bug: str | None = None) -> MasterCore:
    """The master with every part registered, not started; ``bug`` names a deliberately
    broken part from ``saltsim_master.bugs`` (the churn fuzzer's tests)."""
    broken = BUGS[bug] if bug is not None else Bug()
    core = MasterCore(config, sessions=broken.sessions(), bus_class=broken.bus)
    try:
        grains = GrainCache(config.cachedir, core.cache_writer)
        publisher = JobPublisher(core, grains, JobCache(config.cachedir, core.cache_writer))
        presence = Presence(core)
        key_actions = broken.key_actions(core)
        cloud = Cloud(core, lambda name: key_actions.handle({"fun": "delete", "match": name}))
        runners = Runners(core)
        runners.add(JOB_RUNNERS, publisher)
        runners.add(PRESENCE_RUNNERS, presence)
        runners.add(PLAIN_RUNNERS, None)
        runners.add(CLOUD_RUNNERS, cloud)
        parts: list[_Part] = [
            broken.authenticator(config, core.keys, core.sessions, core.fire),
            MinionRequests(core, grains, publisher),
            presence,
            key_actions,
            publisher,
            runners,
            cloud,
            Wheel(core, key_actions.handle),
        ]
        if config.api_enabled:
            parts.append(RestApi(core, core.context))
        else:
            core.add_stats("api", lambda: None)
        for part in parts:
            part.register(core)
    except BaseException:
        core.close()
        raise
    return core


async def _run(master: MasterCore) -> None:
    loop = asyncio.get_running_loop()
    serving = asyncio.ensure_future(master.serve())
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, serving.cancel)
    with contextlib.suppress(asyncio.CancelledError):
        await serving


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="saltsim-master", description="run the saltsim master")
    parser.add_argument("-c", "--config", help="master YAML config file")
    parser.add_argument(
        "--bug",
        choices=sorted(BUGS),
        help="run a deliberately broken master (saltsim_master.bugs), for the churn fuzzer",
    )
    add_log_option(parser)
    args = parser.parse_args(argv)
    setup_logging(args.log_level)
    try:
        config = load_config(MasterConfig, args.config)
        master = build_master(config, args.bug)
        try:
            addresses = master.start()
        except BaseException:
            master.close()
            raise
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
