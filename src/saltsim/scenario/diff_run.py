"""``saltsim scenario diff``: run (or read) both recordings, normalise, compare, report."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from saltsim.scenario import load_scenario, read_record
from saltsim.scenario.diff import DiffResult, compare, render_text
from saltsim.scenario.diff_html import write_diff_html
from saltsim.scenario.normalise import normalise
from saltsim.scenario.record import RecordedRun
from saltsim.scenario.report import expectation_title
from saltsim.scenario.spec import Scenario

__all__ = ["diff_runs", "run_diff"]


def diff_runs(scenario: Scenario, saltsim: RecordedRun, salt: RecordedRun) -> DiffResult:
    names = [(step.label(i + 1), step.kind) for i, step in enumerate(scenario.steps)]
    return compare(normalise(saltsim, names), normalise(salt, names), scenario.differences)


def _record(scenario: Scenario, backend: str, results: Path, given: Path | None) -> RecordedRun:
    if given is not None:
        return read_record(given)
    from saltsim.scenario.runner import ScenarioRunner

    overridden = scenario.with_overrides(backend=backend)
    outcome = ScenarioRunner(overridden, results, lambda line: None).run()
    verdict = "passed" if outcome.ok else "FAILED its expectations"
    print(f"{backend}: {verdict}; {len(outcome.run.events)} events ({outcome.events_path})")
    if not outcome.ok:
        for item in outcome.result.failed:
            print(f"  {backend}: FAIL {expectation_title(item)}: {item.message.splitlines()[0]}")
        if outcome.step_error:
            print(f"  {backend}: step failed: {outcome.step_error.splitlines()[0]}")
    return outcome.run


def run_diff(args: argparse.Namespace) -> int:
    from saltsim.cli.scenario import find_scenario

    scenario = load_scenario(find_scenario(args.name))
    if args.dialect:
        scenario = scenario.with_overrides(dialect=args.dialect)
    results = Path(args.results)
    began = time.monotonic()
    left = _record(scenario, args.saltsim_backend, results, args.left)
    right = _record(scenario, "salt", results, args.right)
    result = diff_runs(scenario, left, right)
    print(render_text(result))
    results.mkdir(parents=True, exist_ok=True)
    page = results / f"diff-{scenario.name}-{right.dialect}-{time.strftime('%Y%m%d-%H%M%S')}.html"
    write_diff_html(page, scenario.name, result)
    verdict = "no undeclared difference" if result.ok else f"{len(result.undeclared)} undeclared"
    print(f"diff {scenario.name}: {verdict} ({time.monotonic() - began:.0f}s); page: {page}")
    return 0 if result.ok else 1
