"""``saltsim fuzz``: a bounded churn campaign (Hypothesis) against either backend."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

__all__ = ["add_fuzz_commands"]

# Smaller on docker: a container start costs seconds where a process costs a fraction.
_DEFAULTS = {
    "local": {"examples": 20, "steps": 40, "time": 600.0},
    "docker": {"examples": 3, "steps": 15, "time": 600.0},
}


def cmd_fuzz(args: argparse.Namespace) -> int:
    from saltsim.churn import ChurnSettings, run_campaign
    from saltsim.churn.broken import BUGS

    if args.list_broken:
        for name, bug in BUGS.items():
            print(f"{name:<24} {(bug.__doc__ or '').strip().splitlines()[0]}")
        return 0
    defaults = _DEFAULTS[args.backend]
    stamp = time.strftime("%Y%m%d-%H%M%S")
    churn = ChurnSettings(
        backend=args.backend,
        dialect=args.dialect,
        examples=args.examples or int(defaults["examples"]),
        steps=args.steps or int(defaults["steps"]),
        time_budget=args.time or defaults["time"],
        shrink=not args.no_shrink,
        shrink_time=args.shrink_time,
        seed=args.seed,
        broken=args.broken,
        converge_timeout=args.step_timeout or (40.0 if args.backend == "docker" else 15.0),
        out_dir=Path(args.results) / f"churn-{args.backend}-{stamp}",
        require_coverage=not args.no_coverage,
    )
    result = run_campaign(churn, lambda line: print(line, flush=True))
    churn.out_dir.mkdir(parents=True, exist_ok=True)
    (churn.out_dir / "coverage.txt").write_text(result.coverage + "\n")
    if result.failure_path:
        print(f"replay: saltsim scenario run {result.failure_path} --backend {args.backend}")
    return 0 if result.ok else 1


def add_fuzz_commands(sub: Any) -> None:
    fuzz = sub.add_parser(
        "fuzz",
        help="fuzz connect/disconnect churn with Hypothesis (bounded), checking invariants",
        description="A Hypothesis state machine adds, starts, stops, kills, pauses, "
        "disconnects minions, accepts, rejects and deletes keys, restarts the master, runs "
        "jobs and fires events, and after every step checks the recorded bus against its "
        "model. Bounded by --examples, --steps and --time.",
    )
    fuzz.add_argument("--backend", choices=["local", "docker"], default="local")
    fuzz.add_argument("--dialect", choices=["3008", "3006"], default="3008")
    fuzz.add_argument("--examples", type=int, help="examples (default 20 local, 3 docker)")
    fuzz.add_argument("--steps", type=int, help="steps per example (default 40 local, 15 docker)")
    fuzz.add_argument("--time", type=float, help="seconds in which examples may begin")
    fuzz.add_argument("--seed", type=int, help="repeat a campaign: its steps, exactly")
    fuzz.add_argument("--broken", help="run a deliberately broken master (see --list-broken)")
    fuzz.add_argument("--list-broken", action="store_true", help="list the broken masters")
    fuzz.add_argument("--no-shrink", action="store_true", help="report a failure unshrunk")
    fuzz.add_argument("--shrink-time", type=float, default=120.0, help="seconds to shrink")
    fuzz.add_argument("--step-timeout", type=float, help="seconds a step may take to settle")
    fuzz.add_argument(
        "--no-coverage", action="store_true", help="do not fail on unexercised transitions"
    )
    fuzz.add_argument("--results", default="results", help="where runs are written")
    fuzz.set_defaults(func=cmd_fuzz)
