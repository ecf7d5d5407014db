"""``make bench-containers``: time until N minion containers are present, against processes.

For 10, 25 and 50 single-minion containers, and for 1,000 minions spread over
swarm containers, the clock runs from the first container's creation until the
master's ``salt/presence/present`` lists them all (presence ticks every second,
so "present" is known to within 1 s). The anchor is the same count of minion
processes on the local backend, in the same run; the ratio is containers / processes.
Memory per container is the engine's cgroup reading (usage less inactive file cache).
Every run is bounded by ``--timeout`` and removes what it made.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench._report import write_report
from bench._swarmkeys import default_keys_dir, ensure_keys
from saltsim.event import Event
from saltsim.testbed.docker_backend import DockerTestbed
from saltsim.testbed.local import LocalTestbed

MASTER = {"auto_accept": True, "presence_events": True, "loop_interval": 1.0}
MINION = {"heartbeat_interval": 1.0, "acceptance_wait_time": 1.0}
SIZES = (10, 25, 50)
TARGET_50_S = 90.0


def _all_present(count: int) -> Callable[[Event], bool]:
    def accept(event: Event) -> bool:
        return event.tag == "salt/presence/present" and len(event.data["present"]) >= count

    accept.__name__ = f"salt/presence/present with {count} minions"
    return accept


def _time_present(bed: Any, ids: list[str], add: Callable[[str], None], timeout: float) -> float:
    with bed.recorder() as recorder:
        began = time.monotonic()
        for minion_id in ids:
            add(minion_id)
        recorder.wait_for(_all_present(len(ids)), timeout)
        return time.monotonic() - began


def containers(count: int, timeout: float) -> dict[str, Any]:
    with DockerTestbed(master_options=MASTER, minion_options=MINION) as bed:
        ids = [f"c{n}" for n in range(1, count + 1)]
        seconds = _time_present(bed, ids, bed.add_minion, timeout)
        memory = [bed.memory_bytes(i) / 2**20 for i in ids]
        master_mb = bed.memory_bytes("master") / 2**20
    return {
        "seconds": round(seconds, 2),
        "mb_per_container": round(statistics.mean(memory), 1),
        "master_mb": round(master_mb, 1),
    }


def processes(count: int, timeout: float) -> float:
    with LocalTestbed(master_options=MASTER, minion_options=MINION) as bed:
        ids = [f"p{n}" for n in range(1, count + 1)]
        return _time_present(bed, ids, bed.add_minion, timeout)


def swarms(total: int, per: int, timeout: float) -> dict[str, Any]:
    prefixes = [f"sw{n}" for n in range(1, total // per + 1)]
    keys_dir = default_keys_dir()
    ensure_keys(keys_dir, [f"{p}-{i}" for p in prefixes for i in range(1, per + 1)])
    with DockerTestbed(master_options=MASTER, minion_options=MINION) as bed:
        seconds = _time_present(
            bed, prefixes, lambda p: bed.add_swarm(p, per, keys_dir=str(keys_dir)), timeout
        )
        memory = [bed.memory_bytes(f"swarm-{p}") / 2**20 for p in prefixes]
    return {
        "minions": total,
        "containers": len(prefixes),
        "seconds": round(seconds, 2),
        "mb_per_container": round(statistics.mean(memory), 1),
        "mb_per_minion": round(sum(memory) / total, 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.containers", description=__doc__)
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)), help="comma list")
    parser.add_argument("--swarm-total", type=int, default=1000)
    parser.add_argument("--per-swarm", type=int, default=100)
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds allowed per size")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s]
    rows: list[dict[str, Any]] = []
    for size in sizes:
        print(f"{size} containers ...", file=sys.stderr, flush=True)
        row = {"count": size, **containers(size, args.timeout)}
        row["process_seconds"] = round(processes(size, args.timeout), 2)
        row["ratio"] = round(row["seconds"] / row["process_seconds"], 2)
        rows.append(row)
        print(f"  {row}", file=sys.stderr, flush=True)
    print(f"{args.swarm_total} minions in swarm containers ...", file=sys.stderr, flush=True)
    swarm = swarms(args.swarm_total, args.per_swarm, args.timeout)
    print(f"  {swarm}", file=sys.stderr, flush=True)

    print(
        "| containers | present (docker) | present (processes, anchor) | ratio | MB / container |"
    )
    print("|---|---|---|---|---|")
    for row in rows:
        print(
            f"| {row['count']} | {row['seconds']:.1f} s | {row['process_seconds']:.1f} s "
            f"| {row['ratio']:.2f}x | {row['mb_per_container']:.1f} |"
        )
    print(
        f"\n{swarm['minions']:,} minions in {swarm['containers']} swarm containers: present in "
        f"{swarm['seconds']:.1f} s, {swarm['mb_per_container']:.1f} MB per container "
        f"({swarm['mb_per_minion']:.2f} MB per minion)"
    )
    fifty = next((r for r in rows if r["count"] == 50), None)
    if fifty is not None:
        verdict = "met" if fifty["seconds"] <= TARGET_50_S else "MISSED"
        print(f"target: 50 containers present <= {TARGET_50_S:.0f} s: {verdict}")
    if args.json:
        write_report(args.json, "containers", {"rows": rows, "swarm": swarm}, sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
