"""``saltsim scenario run|check|diff|list``: the scenario runner's command line.

The runner is the harness (``saltsim.scenario``), which a daemon image does not carry:
it is imported when a command runs, not when the parser is built.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

__all__ = ["add_scenario_commands", "choose_backend", "find_scenario", "scenarios_dir"]


def scenarios_dir() -> Path:
    """``SALTSIM_SCENARIOS``, else ``./scenarios``, else the checkout's ``scenarios/``."""
    override = os.environ.get("SALTSIM_SCENARIOS")
    if override:
        return Path(override)
    here = Path("scenarios")
    if here.is_dir():
        return here
    return Path(__file__).resolve().parents[3] / "scenarios"


def find_scenario(name: str) -> Path:
    """A path as given, or ``scenarios/NAME.yaml``; a clear error listing what exists."""
    from saltsim.scenario import ScenarioError

    given = Path(name)
    if given.suffix in (".yaml", ".yml") and given.is_file():
        return given
    path = scenarios_dir() / f"{name}.yaml"
    if path.is_file():
        return path
    known = ", ".join(sorted(p.stem for p in scenarios_dir().glob("*.yaml"))) or "none"
    raise ScenarioError(str(path), None, f"no scenario {name!r}; known: {known}")


_FALLBACK = "the default without a container engine: "


def _default_backend() -> tuple[str, str]:
    from saltsim.testbed._engine import engine_reachable

    reason = engine_reachable()
    if reason is None:
        return "docker", "the default: a container engine answers"
    return "local", f"{_FALLBACK}{reason}"


def choose_backend(given: str | None, file_backend: str | None, source: str) -> tuple[str, str]:
    """The backend a run uses and why: the command line, else the file's
    ``settings.backend``, else docker when an engine answers, else local."""
    if given is not None:
        why = "--backend"
        if file_backend is not None and file_backend != given:
            why += f", over settings.backend {file_backend} in {source}"
        return given, why
    if file_backend is not None:
        return file_backend, f"settings.backend in {source}; --backend overrides it"
    return _default_backend()


def cmd_run(args: argparse.Namespace) -> int:
    from saltsim.scenario import load_scenario
    from saltsim.scenario.runner import ScenarioRunner

    scenario = load_scenario(find_scenario(args.name))
    backend, why = choose_backend(args.backend, scenario.file_backend, scenario.source)
    print(f"saltsim: backend {backend} ({why})", flush=True)
    if why.startswith(_FALLBACK):
        # a run the user may have meant for containers: say it on stderr too
        print(f"saltsim: {why[len(_FALLBACK) :]}: the local backend runs it", file=sys.stderr)
    scenario = scenario.with_overrides(backend=backend, dialect=args.dialect, minions=args.minions)
    outcome = ScenarioRunner(
        scenario, Path(args.results), lambda line: print(line, flush=True)
    ).run()
    return 0 if outcome.ok else 1


def cmd_check(args: argparse.Namespace) -> int:
    from saltsim.scenario import check, load_scenario, read_record
    from saltsim.scenario.report import render_failure, render_summary

    scenario = load_scenario(find_scenario(args.name))
    run = read_record(args.events)
    scenario = scenario.with_overrides(dialect=run.dialect, minions=run.minions or None)
    result = check(scenario, run)
    print(render_summary(result))
    if not result.ok:
        print(render_failure(result, run))
    print(f"{'PASSED' if result.ok else 'FAILED'}: {scenario.name} against {args.events}")
    return 0 if result.ok else 1


def cmd_diff(args: argparse.Namespace) -> int:
    from saltsim.scenario.diff_run import run_diff

    return run_diff(args)


def cmd_list(args: argparse.Namespace) -> int:
    from saltsim.scenario import ScenarioError, load_scenario

    for path in sorted(scenarios_dir().glob("*.yaml")):
        try:
            scenario = load_scenario(path)
        except ScenarioError as exc:
            print(f"{path.stem:<16} BROKEN: {exc}")
            continue
        print(f"{scenario.name:<16} {scenario.description}")
    return 0


def add_scenario_commands(sub: Any) -> None:
    scenario = sub.add_parser("scenario", help="run or re-check scenario files (scenarios/)")
    verbs = scenario.add_subparsers(dest="verb", required=True, metavar="VERB")
    run = verbs.add_parser("run", help="run a scenario and check its expectations")
    run.add_argument("name", help="a name in scenarios/ (presence) or a .yaml path")
    run.add_argument(
        "--backend",
        choices=["docker", "local", "salt"],
        help="overrides the file's settings.backend; without either: docker when an engine "
        "answers, else local",
    )
    run.add_argument(
        "--minions",
        type=int,
        help="N minions: the file's first N ids, then minion-K up to N",
    )
    run.add_argument("--dialect", choices=["3006", "3008"])
    run.add_argument("--results", default="results", help="where runs are written (results/)")
    run.set_defaults(func=cmd_run)
    recheck = verbs.add_parser("check", help="re-check a recorded run without running anything")
    recheck.add_argument("name")
    recheck.add_argument("--events", required=True, type=Path, help="a run's events.jsonl")
    recheck.set_defaults(func=cmd_check)
    diff = verbs.add_parser(
        "diff", help="run a scenario on saltsim (docker) and on real Salt; show both side by side"
    )
    diff.add_argument("name", help="a name in scenarios/ (presence) or a .yaml path")
    diff.add_argument("--dialect", choices=["3006", "3008"])
    diff.add_argument("--left", type=Path, help="saltsim's events.jsonl instead of a new run")
    diff.add_argument("--right", type=Path, help="real Salt's events.jsonl instead of a new run")
    diff.add_argument(
        "--saltsim-backend", choices=["docker", "local"], default="docker", help="default docker"
    )
    diff.add_argument("--results", default="results", help="where runs and the page go")
    diff.set_defaults(func=cmd_diff)
    listing = verbs.add_parser("list", help="the scenario files and their descriptions")
    listing.set_defaults(func=cmd_list)
