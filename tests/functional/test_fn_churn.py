"""The churn fuzzer on the local backend: a healthy master holds every invariant, each
deliberately broken master is caught within the default budget, a failure shrinks to a
scenario file that replays it, and a seed repeats a campaign step for step."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import pytest

from saltsim.churn import ChurnSettings, run_campaign
from saltsim.churn.broken import BUGS
from saltsim.scenario import load_scenario
from saltsim.scenario.runner import ScenarioRunner
from saltsim.testbed.local import LocalTestbed

pytestmark = [pytest.mark.functional, pytest.mark.slow]  # campaigns: not in make quick

# Seeds fix Hypothesis' choices, so each test runs the same steps every time.
HEALTHY_SEED = 5
BROKEN_SEED = 3

# What each broken master must be caught by (a fragment of the violation).
CAUGHT_BY = {
    "presence-forgets-lost": "salt/presence/present",
    "bus-drops-events": "never reached the listener",
    "start-before-auth": "before its accepted salt/auth",
    "key-keeps-deleted": "the master's key store is",
}


def quiet(line: str) -> None:
    print(line)


def test_a_healthy_master_holds_every_invariant_and_covers_every_transition(
    tmp_path: Path,
) -> None:
    result = run_campaign(ChurnSettings(seed=HEALTHY_SEED, out_dir=tmp_path), quiet)
    assert result.failure is None, result.failure
    assert result.missing == [], result.coverage
    assert result.ok and result.steps > 50
    assert result.examples >= 10  # min_examples, then it stopped: everything was covered


@pytest.mark.parametrize("bug", sorted(BUGS))
def test_each_broken_master_is_caught_within_the_default_budget(bug: str, tmp_path: Path) -> None:
    settings = ChurnSettings(seed=BROKEN_SEED, broken=bug, shrink=False, out_dir=tmp_path)
    result = run_campaign(settings, quiet)
    assert result.failure is not None, f"{bug} was not caught:\n{result.coverage}"
    assert CAUGHT_BY[bug] in result.failure, result.failure
    assert "steps of this example:" in result.failure
    assert result.failure_path is not None and Path(result.failure_path).is_file()


def test_a_failure_shrinks_to_a_scenario_that_replays_it(tmp_path: Path) -> None:
    settings = ChurnSettings(
        seed=BROKEN_SEED, broken="key-keeps-deleted", shrink_time=60, out_dir=tmp_path
    )
    result = run_campaign(settings, quiet)
    assert result.failure is not None and result.failure_path is not None
    scenario = load_scenario(result.failure_path)
    actions = [s for s in scenario.steps if s.kind not in ("wait", "keys")]
    assert [s.kind for s in actions][-1] == "key", scenario.steps
    # Shrunk: the file is the last failing replay, no longer than the first failure found
    # (the two starts of the initial minions always stay).
    first, *_, last = result.failing_lengths
    assert last <= first and len(actions) <= 8, (result.failing_lengths, actions)
    # Replayed against the same broken master, the scenario fails at a wait; against a
    # healthy master, it passes.
    broken = LocalTestbed(
        dialect="3008",
        master_options=dict(scenario.settings.master),
        minion_options=dict(scenario.settings.minion),
        master_command=[sys.executable, "-m", "saltsim.churn.broken", "key-keeps-deleted"],
    )
    failed = ScenarioRunner(scenario, tmp_path / "broken", quiet).run(broken)
    assert not failed.ok and failed.step_error is not None
    passed = ScenarioRunner(scenario, tmp_path / "healthy", quiet).run()
    assert passed.ok, passed.report()


def test_a_seed_repeats_a_campaign_step_for_step(tmp_path: Path) -> None:
    settings = ChurnSettings(seed=5, examples=2, steps=8, require_coverage=False, out_dir=tmp_path)
    first = run_campaign(settings, quiet)
    second = run_campaign(dataclasses.replace(settings, out_dir=tmp_path / "again"), quiet)
    assert first.ok and second.ok, (first.failure, second.failure)
    assert first.histories == second.histories and first.steps > 0
