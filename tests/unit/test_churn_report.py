"""Churn coverage, settings and the replay file (pure)."""

from __future__ import annotations

from pathlib import Path

import pytest

from saltsim.churn import REQUIRED, ChurnModel, ChurnSettings, Coverage
from saltsim.churn.replay import ReplayLog
from saltsim.errors import ConfigError
from saltsim.scenario import load_scenario


def test_coverage_names_what_was_never_exercised() -> None:
    coverage = Coverage("local", required=["master restart", "job returned"])
    coverage.add(["master restart", "master restart", "minion added"])
    assert coverage.missing == ["job returned"]
    report = coverage.report()
    assert "job returned" in report and "never exercised" in report
    assert "minion added" in report


def test_docker_requires_the_network_transitions_too() -> None:
    assert set(REQUIRED["local"]) < set(REQUIRED["docker"])
    assert "present -> lost (disconnect)" in REQUIRED["docker"]


@pytest.mark.parametrize(
    "bad",
    [
        {"backend": "k8s"},
        {"broken": "nope"},
        {"broken": "bus-drops-events", "backend": "docker"},
        {"examples": 0},
        {"initial_minions": 5, "max_minions": 3},
        {"time_budget": 0},
    ],
)
def test_bad_settings_are_refused(bad: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        ChurnSettings(**bad)  # type: ignore[arg-type]


def test_a_replay_log_is_a_scenario_the_loader_accepts(tmp_path: Path) -> None:
    model = ChurnModel()
    log = ReplayLog()
    for minion_id in ("m1", "m2"):
        model.add(minion_id)
        log.add_minion(minion_id)
    effect = model.start("m1")
    log.act("start m1", {"start": "m1"})
    log.settle(effect, model.present(), model.keys())
    effect = model.accept("m1")
    log.act("key accept m1", {"key": {"accept": "m1"}})
    log.settle(effect, model.present(), model.keys())
    effect, plan = model.job(["m1", "m2"])
    log.job(plan)
    log.settle(effect, model.present(), model.keys())
    effect = model.restart_master()
    log.act("restart_master", {"restart_master": True})
    log.settle(effect, model.present(), model.keys())
    log.act("fire", {"fire": {"tag": "fuzz/custom/5", "data": {"step": 5}, "count": 3}})
    settings = {"backend": "local", "dialect": "3008", "master": {"presence_events": True}}
    path = log.write(tmp_path / "f.yaml", settings, "a failure")
    scenario = load_scenario(path)
    kinds = [step.kind for step in scenario.steps]
    assert kinds[:2] == ["start", "wait"] and "restart_master" in kinds and "cmd" in kinds
    assert kinds.count("keys") == 4
    assert scenario.settings.minions == ("m1", "m2")
    waits = path.read_text()
    assert "salt/minion/m1/start" in waits and "present:\n      - m1" in waits
    assert "saltsim/bus/start" in waits and "salt/job/*/ret/m1" in waits


def test_a_failure_that_did_not_replay_keeps_the_first_report() -> None:
    from saltsim.churn.campaign import ChurnFailure
    from saltsim.churn.fuzz import _describe

    assert _describe(ChurnFailure("shrunk report"), ["first", "shrunk report"]) == "shrunk report"
    text = _describe(RuntimeError("Inconsistent data generation!\nmore"), ["first report"])
    assert text.startswith("first report\n") and "RuntimeError: Inconsistent data" in text
    assert _describe(ValueError("x"), []) == "ValueError: x"
