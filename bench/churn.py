"""``make bench-churn``: connect/disconnect cycles a second against a real master, no gaps.

What one **cycle** is, as a Salt user would count it: a swarm minion (the real
protocol, ``saltsim_minion.reconnect_swarm``) signs in (``_auth`` -> ``salt/auth`` accept on
the bus), does its start-up (``_pillar`` -> ``minion/refresh``, ``resource/refresh``;
``minion_start``; ``salt/minion/<id>/start``), says goodbye (``_disconnect``: the
master marks its session closed), closes its sockets and signs in again on new
connections. A pool of ``--minions`` ids churns concurrently in ``--processes``
processes beside the master of a ``LocalTestbed`` (``auto_accept``, presence
every ``--loop-interval`` seconds); key pairs are made once into the persistent
key cache before any clock starts.

Default layout, measured on the project's 2-core machine: 100 minions in one churn
process. A cycle costs ~5.5 ms of CPU in all (churn side ~3, master ~2, this
listener ~0.6), so one churn process, the master and the listener already keep both
cores busy; a second churn process or a larger pool only adds contention (10 s
runs: 20 minions/1 process 273/s, 50/1 317/s, 100/1 303/s, 100/2 309/s, 200/2
297/s). The pool size hardly matters past a few dozen: each minion's cycle is a
chain of round trips, and 100 keep the master's queue non-empty.

Measured, from a listener on the master bus that takes every event:

- **cycles/s**: cycles whose ``salt/minion/<id>/start`` arrived within the
  ``--seconds`` window (60 s; ``--quick`` 10 s), divided by the window. A cycle is
  counted only when its id's events came in order: accept, refresh,
  ``minion_start``, start (an extra accept, a sign-in resent after a timeout, is
  allowed and counted);
- **zero gaps**: the listener's ``lost`` (gaps in ``_seq``) is 0, no cycle is
  broken or incomplete on the bus, every cycle the churning processes completed
  (each request, the goodbye included, acknowledged) is on the bus, none failed,
  and the first ``salt/presence/present`` after the end lists none of the ids
  (every goodbye closed its session);
- **presence**: ticks, ``salt/presence/change`` events and the distinct new/lost
  transitions they reported. Presence samples the connected set once a tick, so
  it sees only a minion caught between sign-in and goodbye at that instant;
- **CPU and memory**: CPU seconds of the master, the churn processes and this
  listener per cycle, and the master's resident memory and open files before and
  after, traced every 5 s (a leak per cycle shows there: see the anchor server).

**Anchor**, run in the same invocation and the same process layout (one server
process, ``--processes`` client processes with the same number of concurrent
clients in asyncio): raw pyzmq doing the cycle's transport work with no protocol
on top. (a) *same transport*: DEALER connect, SUB connect to a PUB port (a minion
subscribes on every sign-in), five request/reply round trips with the cycle's
message sizes (``_auth``, ``_pillar``, two events, ``_disconnect``), close both;
(b) *one round trip*: DEALER connect, one round trip, close. The ratio to (a)
is the price of saltsim's protocol (RSA and AES, sessions, key store, events on
the bus) over the bare transport; (b) bounds what any connect/disconnect cycle
over ZeroMQ could reach here.

Every loop is bounded in count and time and stops by itself; only 127.0.0.1 is
used. The benchmark prints a table and writes JSON; it never asserts. The load
average at the start is recorded: other work on the machine skews the figures.

    python -m bench.churn [--quick | --seconds 60] [--minions 100] [--json PATH]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import IO, Any

from bench._churn_anchor import MAX_RATE, AnchorResult, run_anchor
from bench._churn_cycles import MB, TARGET_RATE, ChurnResult, Cycles
from bench._procstat import children, cmdline, cpu_seconds, mem, open_fds
from bench._report import write_report
from bench._swarmkeys import default_keys_dir, ensure_keys
from saltsim.client import EventClient
from saltsim.testbed.local import LocalTestbed

PREFIX = "churn"
CYCLE_TIMEOUT = 30.0  # the churn processes' own bound on one cycle

MASTER_OPTIONS: dict[str, Any] = {
    "auto_accept": True,
    "presence_events": True,
    "heartbeat_timeout": 30.0,
}


def plan(minions: int, processes: int) -> list[tuple[str, int]]:
    """``[(prefix, count)]``: ids ``churn00-1..`` spread evenly over the processes."""
    base, extra = divmod(minions, processes)
    return [
        (f"{PREFIX}{k:02d}", base + (k < extra)) for k in range(processes) if base + (k < extra)
    ]


def plan_ids(layout: list[tuple[str, int]]) -> list[str]:
    return [f"{prefix}-{n}" for prefix, count in layout for n in range(1, count + 1)]


def _mb(pid: int) -> tuple[float, float]:
    sample = mem(pid)
    return (sample.rss_kb / MB, sample.hwm_kb / MB) if sample is not None else (0.0, 0.0)


def _master_pid() -> int:
    pids = [p for p in children() if "saltsim_master" in cmdline(p)]
    if len(pids) != 1:
        raise RuntimeError(f"expected one master process, found {pids}")
    return pids[0]


def _master_stats(log_path: Path) -> dict[str, Any]:
    """The master's last ``{"stopped": ...}`` line: refusals, bus counters, fire failures."""
    with contextlib.suppress(OSError):
        for line in reversed(log_path.read_text(errors="replace").splitlines()):
            if line.startswith("{") and '"stopped"' in line:
                with contextlib.suppress(ValueError):
                    stats: dict[str, Any] = json.loads(line)
                    return stats
    return {}


def _read_line(stream: IO[bytes], key: str, timeout: float) -> dict[str, Any]:
    """The first JSON line on ``stream`` holding ``key``, within one deadline."""
    deadline, buffer = time.monotonic() + timeout, b""
    while (remaining := deadline - time.monotonic()) > 0:
        if not select.select([stream], [], [], remaining)[0]:
            break
        chunk = os.read(stream.fileno(), 65536)
        if not chunk:
            break
        buffer += chunk
        for line in buffer.decode(errors="replace").splitlines():
            if line.startswith("{") and f'"{key}"' in line:
                found: dict[str, Any] = json.loads(line)
                return found
    raise RuntimeError(f"no {key!r} line within {timeout} s; got {buffer[-300:]!r}")


class _Churners:
    """The churn processes: started, told to go together, reaped on every path."""

    def __init__(self, bed: LocalTestbed, layout: list[tuple[str, int]], keys: Path) -> None:
        self.bed, self.layout, self.keys = bed, layout, keys
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, seconds: float) -> None:
        port = str(self.bed.ports["ret_port"])
        cycles = str(max(1, int(MAX_RATE * seconds / len(self.layout))))
        for prefix, count in self.layout:
            argv = [sys.executable, "-m", "saltsim_minion.reconnect_swarm", "--master", "127.0.0.1"]
            argv += ["--master-port", port, "--count", str(count), "--prefix", prefix]
            argv += ["--keys-dir", str(self.keys), "--cycles", cycles, "--seconds", str(seconds)]
            with (self.bed.workdir / "logs" / f"{prefix}.log").open("ab") as log:
                self.procs.append(
                    subprocess.Popen(
                        [*argv, "--wait-go"],
                        stdin=subprocess.PIPE,
                        stdout=subprocess.PIPE,
                        stderr=log,
                    )
                )
        for proc in self.procs:
            assert proc.stdout is not None
            _read_line(proc.stdout, "ready", 60)

    def go(self) -> None:
        for proc in self.procs:
            assert proc.stdin is not None
            proc.stdin.write(b"go\n")
            proc.stdin.close()

    @property
    def running(self) -> bool:
        return any(proc.poll() is None for proc in self.procs)

    def summaries(self) -> list[dict[str, Any]]:
        out = []
        for proc in self.procs:
            assert proc.stdout is not None
            with contextlib.suppress(RuntimeError):
                out.append(_read_line(proc.stdout, "churned", 5)["churned"])
            proc.stdout.close()
        return out

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(CYCLE_TIMEOUT + 5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _drain(listener: EventClient, cycles: Cycles, wait: float) -> None:
    """Everything queued now, waiting up to ``wait`` for the first event."""
    event = listener.next_event(wait)
    while event is not None:
        cycles.take(event, time.monotonic())
        event = listener.next_event(0)


class _Usage:
    """CPU and memory of the master and the churn processes from go on."""

    def __init__(self, result: ChurnResult, master: int, churners: _Churners) -> None:
        self.result, self.master, self.churners = result, master, churners
        result.master_rss_start_mb = _mb(master)[0]
        result.master_fds_start = open_fds(master)
        self.cpu_master = cpu_seconds(master)
        self.cpu_churn_start = sum(cpu_seconds(p.pid) for p in churners.procs)  # their start-up
        self.reaped_before = self._reaped()
        self.cpu_self = time.process_time()

    @staticmethod
    def _reaped() -> float:
        """CPU of this process's children that exited and were waited for."""
        t = os.times()
        return t.children_user + t.children_system

    def sample(self, since_go: float) -> None:
        r = self.result
        r.churn_rss_mb = sum(_mb(p.pid)[0] for p in self.churners.procs) or r.churn_rss_mb
        cpu = round(cpu_seconds(self.master) - self.cpu_master, 2)
        r.trace.append((round(since_go, 1), r.cycles_on_bus, round(_mb(self.master)[0], 1), cpu))

    def master_done(self) -> None:
        """Read while the master still runs (the churn processes have stopped)."""
        r = self.result
        r.master_cpu_s = cpu_seconds(self.master) - self.cpu_master
        r.master_rss_end_mb, r.master_peak_mb = _mb(self.master)
        r.master_fds_end = open_fds(self.master)

    def churn_done(self) -> None:
        """Read once every churn process was reaped."""
        self.result.churn_cpu_s = self._reaped() - self.reaped_before - self.cpu_churn_start
        self.result.listener_cpu_s = time.process_time() - self.cpu_self


def _watch(
    listener: EventClient, cycles: Cycles, churners: _Churners, usage: _Usage, log: IO[str]
) -> None:
    """Read the bus until every churn process finished (bounded past the window)."""
    r = cycles.result
    began = time.monotonic()
    cycles.window_end = began + r.seconds
    churners.go()
    hard_end = began + r.seconds + CYCLE_TIMEOUT + 10
    next_sample, next_report = began, began + 10
    while churners.running and time.monotonic() < hard_end:
        _drain(listener, cycles, 0.2)
        if (now := time.monotonic()) >= next_sample:
            next_sample += 5
            usage.sample(now - began)
        if now >= next_report:
            next_report += 10
            rate = r.cycles_on_bus / (now - began)
            print(
                f"  {now - began:5.1f} s  cycles {r.cycles_on_bus:,} ({rate:.0f}/s)"
                f"  lost {listener.lost}",
                file=log,
                flush=True,
            )
    if churners.running:
        r.note += f"churn processes still running {hard_end - began:.0f} s after go; "
    r.ran_s = round(time.monotonic() - began, 3)


def _settle(listener: EventClient, cycles: Cycles, summaries: list[dict[str, Any]]) -> None:
    """What the churn processes counted; the bus up to now; the first presence list after
    every goodbye (it must list none of the ids)."""
    r = cycles.result
    for summary in summaries:
        r.cycles_driver += summary["cycles"]
        r.failed_driver += summary["failed"]
        r.driver_errors.update(summary["first_errors"])
    for event in listener.collect(30):  # everything published before this call
        cycles.take(event, time.monotonic())
    cycles.finish()
    deadline = time.monotonic() + 3 * r.loop_interval + 5
    while r.final_present is None and (left := deadline - time.monotonic()) > 0:
        tick = listener.next_event(left, "salt/presence/present")
        if tick is not None:
            r.final_present = len(cycles.ids.intersection(tick.data["present"]))
    r.lost = listener.lost
    r.bad_frames = listener.counters.bad_frames
    r.restarts = listener.counters.restarts


def run_churn(
    layout: list[tuple[str, int]],
    keys: Path,
    seconds: float,
    loop_interval: float,
    keep: bool,
    log: IO[str],
) -> ChurnResult:
    ids = plan_ids(layout)
    result = ChurnResult(
        minions=len(ids),
        processes=len(layout),
        seconds=seconds,
        loop_interval=loop_interval,
        loadavg_at_start=[round(x, 2) for x in os.getloadavg()],
    )
    workdir = Path(tempfile.mkdtemp(prefix="saltsim-bench-churn-"))
    options = {**MASTER_OPTIONS, "loop_interval": loop_interval}
    bed = LocalTestbed(workdir, master_options=options, start_timeout=60)
    listener: EventClient | None = None
    churners = _Churners(bed, layout, keys)
    try:
        bed.start()
        master = _master_pid()
        # Unfiltered: a listener must see every event to prove no gap in _seq.
        listener = EventClient(bed.bus_pub, bed.bus_pull, hwm=1_000_000, pending_max=1)
        listener.wait_ready(30)
        churners.start(seconds)
        cycles = Cycles(result, ids)
        _drain(listener, cycles, 0.5)  # the master settles; this takes what came meanwhile
        usage = _Usage(result, master, churners)
        _watch(listener, cycles, churners, usage, log)
        usage.master_done()
        churners.stop()
        usage.churn_done()
        summaries = churners.summaries()
        if len(summaries) < len(churners.procs):
            result.note += f"{len(churners.procs) - len(summaries)} churn process(es) silent; "
        _settle(listener, cycles, summaries)
    finally:
        churners.stop()
        if listener is not None:
            listener.close()
        bed.close()
        result.master_stats = _master_stats(workdir / "logs" / "master.log")
        if keep:
            print(f"  logs kept in {workdir / 'logs'}", file=log, flush=True)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return result


# -- report ------------------------------------------------------------------------------
def table(r: ChurnResult, anchors: list[AnchorResult]) -> str:
    ms = r.per_cycle_ms
    pairs = [
        ("cycles/s in the window", f"{r.rate:,.1f}"),
        ("cycles complete on the bus (all)", f"{r.cycles_on_bus:,}"),
        ("cycles acknowledged (churn processes)", f"{r.cycles_driver:,}"),
        ("failed cycles (churn processes)", f"{r.failed_driver:,}"),
        ("lost (_seq gaps) / bad frames", f"{r.lost} / {r.bad_frames}"),
        ("broken / incomplete cycles", f"{r.broken} / {r.incomplete}"),
        ("resent sign-ins (extra accepts)", f"{r.extra_accepts:,}"),
        ("ids present after the end", f"{r.final_present}"),
        ("presence ticks / change events", f"{r.presence_ticks} / {r.presence_changes}"),
        ("presence transitions new / lost", f"{r.presence_new:,} / {r.presence_lost:,}"),
        ("CPU ms per cycle: master", f"{ms(r.master_cpu_s):.2f}"),
        ("CPU ms per cycle: churn processes", f"{ms(r.churn_cpu_s):.2f}"),
        ("CPU ms per cycle: bus listener", f"{ms(r.listener_cpu_s):.2f}"),
        (
            "master RSS start -> end (MB)",
            f"{r.master_rss_start_mb:.1f} -> {r.master_rss_end_mb:.1f}",
        ),
        ("master RSS growth per cycle (KB)", f"{r.master_kb_per_cycle:.1f}"),
        ("master open fds start -> end", f"{r.master_fds_start} -> {r.master_fds_end}"),
        ("churn processes RSS (MB)", f"{r.churn_rss_mb:.1f}"),
    ]
    for a in anchors:
        ratio = r.rate / a.rate if a.rate else 0.0
        pairs.append((f"anchor raw pyzmq, {a.name}", f"{a.rate:,.0f}/s  ratio {ratio:.3f}x"))
    rule = "-" * 63
    rows = [
        f"churn: {r.minions} minions in {r.processes} process(es), {r.seconds:g} s window, "
        f"presence every {r.loop_interval:g} s, load {r.loadavg_at_start[0]:.2f} at start",
        f"{'measurement':<40} {'value':>22}",
        rule,
        *(f"{label:<40} {value:>22}" for label, value in pairs),
        rule,
        f"zero gaps: {'yes' if r.zero_gaps else 'NO'}; target >= {TARGET_RATE:.0f} cycles/s "
        f"with zero gaps: {r.verdict()}",
    ]
    if r.note:
        rows.append(f"note: {r.note}")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="bench.churn", description="connect/disconnect cycles a second, with zero gaps"
    )
    parser.add_argument("--seconds", type=float, default=60.0, help="the measured window")
    parser.add_argument("--quick", action="store_true", help="a 10 s window, 3 s anchors")
    parser.add_argument("--minions", type=int, default=100, help="the churning pool")
    parser.add_argument("--processes", type=int, default=1, help="churn processes")
    parser.add_argument("--loop-interval", type=float, default=1.0, help="presence tick (s)")
    parser.add_argument("--anchor-seconds", type=float, default=5.0, help="each anchor's run")
    parser.add_argument("--no-anchor", action="store_true", help="skip the raw pyzmq anchor")
    parser.add_argument("--keys-dir", type=Path, default=None, help="persistent key cache")
    parser.add_argument("--keygen-workers", type=int, default=2)
    parser.add_argument("--keep-logs", action="store_true", help="keep the testbed's logs")
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args(argv)
    seconds: float = 10.0 if args.quick else args.seconds
    anchor_s: float = 3.0 if args.quick else args.anchor_seconds
    if seconds <= 0 or anchor_s <= 0 or args.loop_interval <= 0:
        parser.error("--seconds, --anchor-seconds and --loop-interval must be positive")
    if not 1 <= args.processes <= args.minions:
        parser.error("need 1 <= --processes <= --minions")
    layout = plan(args.minions, args.processes)
    keys: Path = args.keys_dir or default_keys_dir()
    log = sys.stderr
    made, keygen_s = ensure_keys(keys, plan_ids(layout), args.keygen_workers)

    anchors: list[AnchorResult] = []
    if not args.no_anchor:
        for name, rts, with_sub in (("same transport", 5, True), ("one round trip", 1, False)):
            print(f"anchor: raw pyzmq, {name}, {anchor_s:g} s", file=log, flush=True)
            anchors.append(run_anchor(name, layout, rts, with_sub, anchor_s))
    print(
        f"saltsim: {args.minions} minions churning in {len(layout)} process(es), {seconds:g} s",
        file=log,
        flush=True,
    )
    result = run_churn(layout, keys, seconds, args.loop_interval, args.keep_logs, log)

    print(table(result, anchors))
    if args.json:
        body = {
            "settings": {
                "master_options": {**MASTER_OPTIONS, "loop_interval": args.loop_interval},
                "minions": args.minions,
                "processes": len(layout),
                "seconds": seconds,
                "anchor_seconds": anchor_s,
                "keys_dir": str(keys),
                "keys_made_now": made,
                "keygen_s": round(keygen_s, 1),
            },
            "targets": {"cycles_per_s": TARGET_RATE, "lost": 0},
            "anchors": [
                {**asdict(a), "rate": round(a.rate, 1), "ratio": round(result.rate / a.rate, 4)}
                if a.rate
                else asdict(a)
                for a in anchors
            ],
            "result": result.as_dict(),
        }
        write_report(args.json, "churn", body, log)
    return 0


if __name__ == "__main__":
    sys.exit(main())
