"""Minion scale benchmark: how long until N swarm minions are authenticated and present.

For each size (100, 1,000 and 5,000 minions by default) it starts a fresh master
on the local backend (``auto_accept``, presence events every ``loop_interval``),
arms a listener on the master bus, then starts swarm processes of at most
``--per-swarm`` minions each and measures, from the moment the first swarm
process is launched:

- **auth-all**: until a ``salt/auth`` event with ``act: accept`` was seen for every id;
- **present-all**: until one ``salt/presence/present`` event lists every id;
- **started-all**: until every ``salt/minion/<id>/start`` was seen (start-up done);
- **memory**: resident set (``VmRSS`` of ``/proc/<pid>/status``) of the master
  process, which includes its event-bus thread, and of all swarm processes
  together, each divided by the number of minions, read once all were present
  and started (peaks, CPU seconds and resend counts are kept in the JSON too).

Key pairs are made once, before any clock starts, into a persistent cache
(``~/.cache/saltsim/swarm-keys``) and reused. Every size is bounded by
``--timeout`` seconds (then reported as not reached) and every process is
stopped before the next size starts. The benchmark prints a table and writes
JSON; it never asserts. Other load on the machine makes the figures noisy: the
load average at the start of each size is recorded beside them.

    python -m bench.minions [--quick | --sizes 100,1000] [--json PATH]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import shutil
import signal
import sys
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import zmq

from bench._procstat import MemSample, children, cmdline, cpu_seconds, mem, open_fds
from bench._report import write_report
from bench._swarmkeys import default_keys_dir, ensure_keys
from saltsim.client import EventClient
from saltsim.errors import FrameError
from saltsim.testbed.local import LocalTestbed
from saltsim.wire import unpack_frame

SIZES = (100, 1_000, 5_000)
TARGET_PRESENT_S = 60.0  # for 1,000 minions (sizes up to 1,000 are held to it)
TARGET_PRESENT_SIZE = 1_000
TARGET_MB_PER_MINION = 2.5  # swarm RSS per simulated minion
PREFIX = "bench"
MB = 1024.0  # KiB per MiB

MASTER_OPTIONS: dict[str, Any] = {
    "auto_accept": True,
    "presence_events": True,
    "loop_interval": 2.0,
    "heartbeat_timeout": 30.0,
}
MINION_OPTIONS: dict[str, Any] = {"heartbeat_interval": 10.0}

AUTH_TAG = "salt/auth"
PRESENT_TAG = "salt/presence/present"
START_PREFIX = "salt/minion/"  # salt/minion/<id>/start
PROBE_TAG = "saltsim/listener/ready/bench-"


def swarm_plan(size: int, per_swarm: int) -> list[tuple[str, int]]:
    """``[(prefix, count), ...]``: ids ``bench00-1..`` so every size reuses one key cache."""
    plan = []
    left, index = size, 0
    while left > 0:
        count = min(per_swarm, left)
        plan.append((f"{PREFIX}{index:02d}", count))
        left -= count
        index += 1
    return plan


def plan_ids(plan: list[tuple[str, int]]) -> list[str]:
    return [f"{prefix}-{n}" for prefix, count in plan for n in range(1, count + 1)]


class BusWatch:
    """A SUB socket on the master bus that only takes auth, presence, start and its probes.

    The prefixes are filtered by libzmq at the publisher, so the minions' other
    events (refresh, ``minion_start``) cost this listener nothing.
    """

    def __init__(self, pub: str, pull: str) -> None:
        self._ctx: zmq.Context[Any] = zmq.Context()
        self._sub = self._ctx.socket(zmq.SUB)
        self._sub.setsockopt(zmq.LINGER, 0)
        self._sub.setsockopt(zmq.RCVHWM, 200_000)
        for prefix in (AUTH_TAG, PRESENT_TAG, START_PREFIX, PROBE_TAG):
            self._sub.setsockopt(zmq.SUBSCRIBE, prefix.encode())
        self._sub.connect(pub)
        self._firer = EventClient(pub, pull, listen=False, context=self._ctx)
        self.bad_frames = 0

    def arm(self, timeout: float = 15.0) -> None:
        """Fire probes until one comes back (ZeroMQ's slow joiner)."""
        probe = f"{PROBE_TAG}{uuid.uuid4().hex}"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._firer.fire_event({}, probe)
            for tag, _ in self.poll(50):
                if tag == probe:
                    return
        raise RuntimeError(f"no event came back from the bus within {timeout} s")

    def poll(self, timeout_ms: int) -> list[tuple[str, dict[Any, Any]]]:
        """Everything queued now, waiting up to ``timeout_ms`` for the first frame."""
        out: list[tuple[str, dict[Any, Any]]] = []
        if not self._sub.poll(timeout_ms):
            return out
        while True:
            try:
                frame = self._sub.recv(zmq.NOBLOCK)
            except zmq.Again:
                return out
            try:
                out.append(unpack_frame(frame))
            except FrameError:
                self.bad_frames += 1

    def close(self) -> None:
        self._firer.close()
        self._sub.close(0)
        self._ctx.term()


@dataclass
class SizeResult:
    size: int
    swarms: int
    per_swarm: int
    timeout_s: float
    loadavg_at_start: list[float]
    auth_all_s: float | None = None
    present_all_s: float | None = None
    started_all_s: float | None = None  # every salt/minion/<id>/start seen (after the table's)
    authenticated: int = 0  # distinct ids with an accept
    auth_events: int = 0  # accept events in all (more than size: sign-in retries)
    most_present: int = 0  # the largest presence list seen (of the benchmark's ids)
    started: int = 0  # distinct ids with a start event
    start_events: int = 0  # start events in all (more than size: start-up resends)
    master_rss_base_mb: float = 0.0  # before any swarm started
    master_rss_mb: float = 0.0  # when all were present and started (or at the end)
    master_peak_mb: float = 0.0
    master_threads: int = 0
    master_fds: int = 0
    master_cpu_s: float = 0.0  # CPU time the master used since the swarms started
    swarm_rss_mb: float = 0.0  # all swarm processes together
    swarm_peak_mb: float = 0.0  # the largest sum sampled
    swarm_cpu_s: float = 0.0
    died: dict[str, str] = field(default_factory=dict)  # process that died early: last log line
    master_stats: dict[str, Any] = field(default_factory=dict)  # its "stopped" line
    note: str = ""

    @property
    def master_mb_per_minion(self) -> float:
        return self.master_rss_mb / self.size

    @property
    def swarm_mb_per_minion(self) -> float:
        return self.swarm_rss_mb / self.size

    def time_verdict(self) -> str:
        if self.present_all_s is None:
            return "MISS"
        if self.size <= TARGET_PRESENT_SIZE:
            return "PASS" if self.present_all_s <= TARGET_PRESENT_S else "MISS"
        return "n/a"

    def memory_verdict(self) -> str:
        if self.swarm_rss_mb == 0.0:
            return "n/a"
        return "PASS" if self.swarm_mb_per_minion <= TARGET_MB_PER_MINION else "MISS"

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.update(
            master_mb_per_minion=round(self.master_mb_per_minion, 4),
            swarm_mb_per_minion=round(self.swarm_mb_per_minion, 4),
            total_mb_per_minion=round(self.master_mb_per_minion + self.swarm_mb_per_minion, 4),
            master_added_mb_per_minion=round(
                (self.master_rss_mb - self.master_rss_base_mb) / self.size, 4
            ),
            time_verdict=self.time_verdict(),
            memory_verdict=self.memory_verdict(),
        )
        return out


def _mb(sample: MemSample | None) -> float:
    return sample.rss_kb / MB if sample is not None else 0.0


def _pids_running(module: str) -> list[int]:
    return [p for p in children() if module in cmdline(p)]


def _swarm_pids(expected: int, timeout: float = 10.0) -> list[int]:
    """The swarm processes just launched: a child shows its own command line only after
    its exec, so wait until every one does."""
    deadline = time.monotonic() + timeout
    while True:
        pids = _pids_running("saltsim_minion")
        if len(pids) >= expected or time.monotonic() > deadline:
            return pids
        time.sleep(0.01)


def _swarm_name(pid: int) -> str:
    """The testbed's name of a swarm process, from its ``--prefix`` argument."""
    argv = cmdline(pid)
    prefix = argv[argv.index("--prefix") + 1] if "--prefix" in argv else str(pid)
    return f"swarm-{prefix}"


def _master_stats(log_path: Path) -> dict[str, Any]:
    """The master's last ``{"stopped": ...}`` line: refusals, bus counters, fire failures."""
    try:
        lines = log_path.read_text(errors="replace").splitlines()
    except OSError:
        return {}
    for line in reversed(lines):
        if line.startswith("{") and '"stopped"' in line:
            try:
                stats: dict[str, Any] = json.loads(line)
            except ValueError:
                return {}
            return stats
    return {}


def _stop_all(pids: list[int]) -> None:
    """SIGTERM every swarm at once (their goodbyes overlap), then the testbed reaps them."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)


class _Tally:
    """What the bus said so far about the benchmark's ids, timed from ``began``."""

    def __init__(self, result: SizeResult, ids: list[str], began: float) -> None:
        self.result = result
        self.expected = set(ids)
        self.starts = {f"salt/minion/{i}/start": i for i in ids}
        self.accepted: set[str] = set()
        self.started: set[str] = set()
        self.began = began

    def take(self, tag: str, data: dict[Any, Any]) -> None:
        r, size = self.result, self.result.size
        if tag == AUTH_TAG and data.get("act") == "accept":
            r.auth_events += 1
            minion_id = data.get("id")
            if minion_id in self.expected and minion_id not in self.accepted:
                self.accepted.add(minion_id)
                r.authenticated = len(self.accepted)
                if r.authenticated == size:
                    r.auth_all_s = time.monotonic() - self.began
        elif tag == PRESENT_TAG:
            count = len(self.expected.intersection(data.get("present") or []))
            r.most_present = max(r.most_present, count)
            if count == size and r.present_all_s is None:
                r.present_all_s = time.monotonic() - self.began
        elif tag in self.starts:
            r.start_events += 1
            self.started.add(self.starts[tag])
            r.started = len(self.started)
            if r.started == size and r.started_all_s is None:
                r.started_all_s = time.monotonic() - self.began

    @property
    def done(self) -> bool:
        return self.result.present_all_s is not None and self.result.started_all_s is not None


def _sample(
    result: SizeResult, master_pid: int, swarm_pids: list[int], cpu_base: dict[int, float]
) -> list[int]:
    """Read memory and CPU into ``result``; returns the processes that are gone."""
    master_now = mem(master_pid)
    swarm_now = [mem(p) for p in swarm_pids]
    result.master_rss_mb = _mb(master_now)
    result.master_peak_mb = max(result.master_peak_mb, result.master_rss_mb)
    result.swarm_rss_mb = sum(_mb(s) for s in swarm_now)
    result.swarm_peak_mb = max(result.swarm_peak_mb, result.swarm_rss_mb)
    if master_now is not None:
        result.master_threads = master_now.threads
        result.master_fds = open_fds(master_pid)
        result.master_cpu_s = cpu_seconds(master_pid) - cpu_base[master_pid]
    result.swarm_cpu_s = sum(
        cpu_seconds(p) for p, s in zip(swarm_pids, swarm_now, strict=True) if s is not None
    )
    gone = [p for p, s in zip(swarm_pids, swarm_now, strict=True) if s is None]
    return gone + ([master_pid] if master_now is None else [])


def run_size(
    size: int, per_swarm: int, keys_dir: Path, timeout: float, nice: int, keep: bool, log: Any
) -> SizeResult:
    plan = swarm_plan(size, per_swarm)
    result = SizeResult(
        size=size,
        swarms=len(plan),
        per_swarm=per_swarm,
        timeout_s=timeout,
        loadavg_at_start=[round(x, 2) for x in os.getloadavg()],
    )
    workdir = Path(tempfile.mkdtemp(prefix=f"saltsim-bench-minions-{size}-"))
    testbed = LocalTestbed(
        workdir, master_options=MASTER_OPTIONS, minion_options=MINION_OPTIONS, start_timeout=60
    )
    watch: BusWatch | None = None
    swarm_pids: list[int] = []
    try:
        testbed.start()
        masters = _pids_running("saltsim_master")
        if len(masters) != 1:
            raise RuntimeError(f"expected one master process, found {masters}")
        master_pid = masters[0]
        watch = BusWatch(testbed.bus_pub, testbed.bus_pull)
        watch.arm()
        time.sleep(0.5)  # let the master settle after start-up
        result.master_rss_base_mb = _mb(mem(master_pid))
        cpu_base = {master_pid: cpu_seconds(master_pid)}

        began = time.monotonic()
        for prefix, count in plan:
            testbed.add_swarm(prefix, count, keys_dir=str(keys_dir))
        swarm_pids = _swarm_pids(len(plan))
        names = {p: _swarm_name(p) for p in swarm_pids}  # while their cmdline is readable
        names[master_pid] = "master"
        for pid in swarm_pids if nice else []:
            os.setpriority(os.PRIO_PROCESS, pid, nice)
        tally = _Tally(result, plan_ids(plan), began)
        deadline = began + timeout
        next_sample = next_report = began
        while not tally.done:
            now = time.monotonic()
            if now >= deadline:
                result.note = f"stopped waiting after {timeout:.0f} s"
                break
            for tag, data in watch.poll(200):
                tally.take(tag, data)
            now = time.monotonic()
            if now >= next_sample:
                next_sample = now + 1.0
                gone = _sample(result, master_pid, swarm_pids, cpu_base)
                if gone:
                    for pid in gone:
                        tail = testbed.logs(names[pid]).strip().splitlines()
                        result.died[names[pid]] = tail[-1] if tail else ""
                    result.note = f"died: {', '.join(result.died)}"
                    break
            if now >= next_report:
                next_report = now + 10.0
                print(
                    f"  {size}: {now - began:5.1f} s  authenticated {result.authenticated}"
                    f"  present {result.most_present}  started {result.started}"
                    f"  master {result.master_rss_mb:.0f} MB  swarms {result.swarm_rss_mb:.0f} MB",
                    file=log,
                    flush=True,
                )
        _sample(result, master_pid, swarm_pids, cpu_base)
        if watch.bad_frames:
            result.note += f" {watch.bad_frames} undecodable bus frames"
    finally:
        _stop_all(swarm_pids)
        testbed.close()
        if watch is not None:
            watch.close()
        result.master_stats = _master_stats(workdir / "logs" / "master.log")
        if keep:
            print(f"  logs kept in {workdir / 'logs'}", file=log, flush=True)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return result


def _when(value: float | None, count: int) -> str:
    return f"{value:.1f}" if value is not None else f"{count:,} only"


def table(results: list[SizeResult]) -> str:
    head = (
        f"{'minions':>8} {'swarms':>6} {'auth-all s':>11} {'present-all s':>13} "
        f"{'started-all s':>13} {'master MB/min':>13} {'swarm MB/min':>12} "
        f"{'time':>5} {'memory':>6} {'load':>5}"
    )
    rows = [head, "-" * len(head)]
    for r in results:
        rows.append(
            f"{r.size:>8,} {r.swarms:>6} {_when(r.auth_all_s, r.authenticated):>11} "
            f"{_when(r.present_all_s, r.most_present):>13} "
            f"{_when(r.started_all_s, r.started):>13} "
            f"{r.master_mb_per_minion:>13.3f} {r.swarm_mb_per_minion:>12.3f} "
            f"{r.time_verdict():>5} {r.memory_verdict():>6} {r.loadavg_at_start[0]:>5.2f}"
        )
    rows.append(
        f"targets: {TARGET_PRESENT_SIZE:,} minions present <= {TARGET_PRESENT_S:.0f} s "
        f"(sizes up to {TARGET_PRESENT_SIZE:,} held to it; n/a above); "
        f"swarm RSS <= {TARGET_MB_PER_MINION} MB per simulated minion\n"
        "load: the 1-minute load average as the size began (other work skews the times)"
    )
    return "\n".join(rows)


def _parse_sizes(text: str) -> list[int]:
    try:
        sizes = [int(part.replace("_", "")) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"sizes must be integers: {text!r}") from None
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError("sizes must be positive")
    return sizes


def _fd_check(sizes: list[int]) -> str:
    """The master holds two connections per minion (request and publish) plus its own."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = 2 * max(sizes) + 200
    if need > hard:
        return f"the open-file hard limit {hard} is below the ~{need} the master needs"
    if soft < need:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # inherited by the master
    return ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="bench.minions", description="time until N swarm minions are authenticated and present"
    )
    parser.add_argument(
        "--sizes", type=_parse_sizes, default=list(SIZES), help="comma list (100,1000,5000)"
    )
    parser.add_argument("--quick", action="store_true", help="only 100 minions")
    parser.add_argument("--per-swarm", type=int, default=500, help="minions per swarm process")
    parser.add_argument("--timeout", type=float, default=180.0, help="seconds allowed per size")
    parser.add_argument(
        "--nice", type=int, default=0, help="niceness of the swarm processes (0: as the master)"
    )
    parser.add_argument("--keys-dir", type=Path, default=None, help="persistent key cache")
    parser.add_argument("--keygen-workers", type=int, default=2)
    parser.add_argument("--keep-logs", action="store_true", help="keep each size's workdir")
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args(argv)
    sizes: list[int] = [100] if args.quick else args.sizes
    if args.per_swarm < 1 or args.timeout <= 0:
        parser.error("--per-swarm and --timeout must be positive")
    keys_dir: Path = args.keys_dir or default_keys_dir()
    log = sys.stderr

    problem = _fd_check(sizes)
    if problem:
        print(f"bench.minions: {problem}", file=log)
        return 2
    all_ids = plan_ids(swarm_plan(max(sizes), args.per_swarm))
    made, keygen_s = ensure_keys(keys_dir, all_ids, args.keygen_workers)

    results: list[SizeResult] = []
    for size in sizes:
        print(f"{size:,} minions in {len(swarm_plan(size, args.per_swarm))} swarm(s)", file=log)
        results.append(
            run_size(size, args.per_swarm, keys_dir, args.timeout, args.nice, args.keep_logs, log)
        )
        time.sleep(1.0)  # ports and sockets of the previous size wind down

    print(table(results))
    if args.json:
        body = {
            "settings": {
                "master_options": MASTER_OPTIONS,
                "minion_options": MINION_OPTIONS,
                "per_swarm": args.per_swarm,
                "swarm_nice": args.nice,
                "timeout_s": args.timeout,
                "keys_dir": str(keys_dir),
                "keys_made_now": made,
                "keygen_s": round(keygen_s, 1),
            },
            "targets": {
                "present_s": TARGET_PRESENT_S,
                "present_size": TARGET_PRESENT_SIZE,
                "swarm_mb_per_minion": TARGET_MB_PER_MINION,
            },
            "results": [r.as_dict() for r in results],
        }
        nofile = list(resource.getrlimit(resource.RLIMIT_NOFILE))
        write_report(args.json, "minions", body, log, nofile_limit=nofile)
    return 0


if __name__ == "__main__":
    sys.exit(main())
