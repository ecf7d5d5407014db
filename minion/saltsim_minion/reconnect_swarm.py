"""A reconnecting swarm: minions that sign in, start up, say goodbye, close, and again.

A ``Swarm`` minion signs in once and stays; connect/disconnect churn needs the other
life. Each minion here loops, bounded by a cycle count shared by the process and
by a deadline:

1. a fresh ``Minion`` (a new DEALER connection, so a new ROUTER peer; the key pair
   is loaded once per id) signs in with ``_auth`` until accepted (``salt/auth``
   accept, a new request key and session on the master; the SUB socket connects to
   the publish port as on every sign-in);
2. its start-up, as ``Minion.run`` does it (``Minion.start_loads``): ``_pillar``,
   ``minion_start``, on 3008 ``_register_resources``, then ``salt/minion/<id>/start``;
3. a graceful goodbye (``_disconnect``: the master marks the session closed, so the
   next presence tick counts it out), then both sockets are closed.

A cycle counts as done when the master acknowledged every one of those requests; a
cycle that timed out or was refused is counted as failed (the first error of each
kind is kept) and the minion starts the next one afresh. Every cycle runs under
its own timeout, so a stuck master cannot hold the process past the deadline by
more than that. ``python -m saltsim_minion.reconnect_swarm`` runs one; it prints a JSON
``ready`` line once the keys are loaded, and a JSON ``churned`` summary at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import signal
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import zmq
import zmq.asyncio

from saltsim.config import load_config
from saltsim.crypto import KeyPair
from saltsim.deadline import Deadline
from saltsim.errors import SaltsimError
from saltsim.logsetup import add_log_option, setup_logging
from saltsim_minion.config import MinionConfig
from saltsim_minion.minion import Minion, Rejected
from saltsim_minion.swarm import load_keys, raise_fd_limit, swarm_ids

__all__ = ["ChurnStats", "ChurningSwarm", "main"]

CYCLE_TIMEOUT = 30.0  # one whole cycle, sign-in retries included


class _Refused(Exception):
    """The master answered a start-up request or the goodbye with ``ok: false``."""


@dataclasses.dataclass
class ChurnStats:
    """What the churning swarm did; ``by_id`` counts completed cycles per minion."""

    cycles: int = 0
    failed: int = 0
    rejected: list[str] = dataclasses.field(default_factory=list)
    errors: Counter[str] = dataclasses.field(default_factory=Counter)
    first_errors: dict[str, str] = dataclasses.field(default_factory=dict)
    by_id: dict[str, int] = dataclasses.field(default_factory=dict)
    elapsed_s: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["errors"] = dict(self.errors)
        return out


class ChurningSwarm:
    """``ids`` churning in one event loop; keys from ``keys_dir/<id>/`` (made if absent)."""

    def __init__(
        self,
        template: MinionConfig,
        ids: list[str],
        keys_dir: str | Path,
        *,
        cycles: int,
        seconds: float,
        cycle_timeout: float = CYCLE_TIMEOUT,
    ) -> None:
        if cycles < 0 or seconds <= 0 or cycle_timeout <= 0:
            raise ValueError("cycles must be >= 0, seconds and cycle_timeout positive")
        raise_fd_limit()
        self.cycles, self.seconds, self.cycle_timeout = cycles, seconds, cycle_timeout
        self.configs = {
            i: dataclasses.replace(template, id=i, pki_dir=str(Path(keys_dir) / i)) for i in ids
        }
        self.keys: dict[str, KeyPair] = {
            i: load_keys(Path(c.pki_dir)) for i, c in self.configs.items()
        }
        self.stats = ChurnStats(by_id=dict.fromkeys(ids, 0))
        self._started = 0  # cycles begun, against the shared budget
        self._stopping = False
        self._deadline: Deadline | None = None  # set when run() begins

    def stop(self) -> None:
        """Begin no new cycle; those under way finish (within their timeout)."""
        self._stopping = True

    def _may_begin(self) -> bool:
        if self._stopping or self._started >= self.cycles:
            return False
        if self._deadline is None or self._deadline.expired:
            return False
        self._started += 1
        return True

    async def run(self) -> ChurnStats:
        """Churn until the budget is spent or ``seconds`` passed; returns the stats."""
        ctx = zmq.asyncio.Context()
        # Closed sockets are reaped in the background: leave room for a cycle's worth more.
        ctx.set(zmq.MAX_SOCKETS, max(1024, 4 * len(self.configs) + 64))
        began = time.monotonic()
        self._deadline = Deadline(self.seconds)
        try:
            await asyncio.gather(*(self._churn(ctx, i) for i in self.configs))
        finally:
            self.stats.elapsed_s = round(time.monotonic() - began, 3)
            with contextlib.suppress(zmq.ZMQError):
                ctx.term()
        return self.stats

    async def _churn(self, ctx: zmq.asyncio.Context, minion_id: str) -> None:
        stats = self.stats
        while self._may_begin():
            try:
                async with asyncio.timeout(self.cycle_timeout):
                    await self._cycle(ctx, minion_id)
            except Rejected as exc:  # a Salt minion gives up on rejection: so does this one
                stats.rejected.append(minion_id)
                self._failed("rejected", str(exc))
                return
            except Exception as exc:  # timeout, refusal, socket error: next cycle afresh
                self._failed(type(exc).__name__, f"{minion_id}: {exc!r}")
            else:
                stats.cycles += 1
                stats.by_id[minion_id] += 1

    def _failed(self, kind: str, text: str) -> None:
        self.stats.failed += 1
        self.stats.errors[kind] += 1
        self.stats.first_errors.setdefault(kind, text)

    async def _cycle(self, ctx: zmq.asyncio.Context, minion_id: str) -> None:
        minion = Minion(self.configs[minion_id], ctx, self.keys[minion_id])
        try:
            await minion.sign_in()
            for load in minion.start_loads():
                await _ok(minion, load)
            await _ok(minion, {"cmd": "_disconnect"})
        finally:
            minion.close()


async def _ok(minion: Minion, load: dict[str, Any]) -> None:
    reply = await minion.request(load)
    if not reply.get("ok"):
        raise _Refused(f"{load['cmd']}: {reply.get('error')}")


def _print(line: dict[str, Any]) -> None:
    print(json.dumps(line), flush=True)


async def _until_stopped(swarm: ChurningSwarm) -> ChurnStats:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, swarm.stop)
    return await swarm.run()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m saltsim_minion.reconnect_swarm",
        description="minions that sign in, start, say goodbye and sign in again (bounded)",
    )
    parser.add_argument("-c", "--config", help="minion YAML config file (the template)")
    parser.add_argument("--master", help="master address")
    parser.add_argument("--master-port", type=int, help="master request port")
    parser.add_argument("--count", type=int, required=True, help="minions PREFIX-1..PREFIX-N")
    parser.add_argument("--prefix", default="churn")
    parser.add_argument("--keys-dir", required=True, help="key cache, one folder per id")
    parser.add_argument("--cycles", type=int, required=True, help="cycles in all, at most")
    parser.add_argument("--seconds", type=float, required=True, help="begin none after this")
    parser.add_argument(
        "--wait-go", action="store_true", help="after the ready line, begin on a line on stdin"
    )
    add_log_option(parser)
    args = parser.parse_args(argv)
    setup_logging(args.log_level)
    try:
        template = load_config(
            MinionConfig, args.config, master=args.master, master_port=args.master_port
        )
        swarm = ChurningSwarm(
            template,
            swarm_ids(args.prefix, args.count),
            args.keys_dir,
            cycles=args.cycles,
            seconds=args.seconds,
        )
    except (SaltsimError, ValueError) as exc:
        print(f"saltsim-minion reconnect_swarm: error: {exc}", file=sys.stderr)
        return 2
    _print({"ready": args.count, "prefix": args.prefix})
    if args.wait_go and not sys.stdin.readline():
        return 0  # whoever started us went away before saying go
    stats = asyncio.run(_until_stopped(swarm))
    _print({"churned": stats.as_dict()})
    return 0


if __name__ == "__main__":
    sys.exit(main())
