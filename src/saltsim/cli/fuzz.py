"""``saltsim fuzz``: a bounded churn campaign (Hypothesis) against either backend."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

__all__ = ["add_fuzz_commands"]

# A campaign stops once every required transition was exercised in at least
# min_examples examples (typically 11-37 examples here); the time is its hard bound,
# longer on docker, where a container start costs seconds where a process costs a tenth.
_TIME = {"local": 600.0, "docker": 1200.0}


def cmd_fuzz(args: argparse.Namespace) -> int:
    from saltsim.churn import ChurnSettings, run_campaign
    from saltsim.churn.broken import BUGS

    if args.list_broken:
        for name, bug in BUGS.items():
            print(f"{name:<24} {' '.join((bug.__doc__ or '').split())}")
        return 0
    stamp = time.strftime("%Y%m%d-%H%M%S")
    churn = ChurnSettings(
        backend=args.backend,
        dialect=args.dialect,
        examples=args.examples,
        min_examples=min(args.min_examples, args.examples),
        steps=args.steps,
        time_budget=args.time or _TIME[args.backend],
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


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


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
    fuzz.add_argument("--examples", type=_positive, default=60, help="at most (default 60)")
    fuzz.add_argument(
        "--min-examples", type=_positive, default=10, help="before coverage may end it (10)"
    )
    fuzz.add_argument("--steps", type=_positive, default=40, help="per example (default 40)")
    fuzz.add_argument(
        "--time", type=float, help="seconds in which rounds may begin (600 local, 1200 docker)"
    )
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
