"""Every scenario file as a regression test: on the local backend in each dialect its
expectations are written for, and on docker (3008) under the ``docker`` marker."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from saltsim.cli.scenario import scenarios_dir
from saltsim.scenario import load_scenario

NETWORK_STEPS = {"disconnect", "reconnect"}
# The files written for any number of minions (docs/scenarios.md says why the others are not).
SCALING = ("start", "custom-events", "kill-mid-job", "churn-smoke")


def _files() -> list[Path]:
    return sorted(scenarios_dir().glob("*.yaml"))


def _local_cases() -> list[Any]:
    cases = []
    for path in _files():
        loaded = load_scenario(path)
        if any(step.kind in NETWORK_STEPS for step in loaded.steps):
            continue  # the local backend has no network faults; docker runs it
        dialects = sorted({e.dialect for e in loaded.expectations if e.dialect}) or [
            loaded.settings.dialect
        ]
        cases += [pytest.param(path.stem, d, id=f"{path.stem}-{d}") for d in dialects]
    return cases


@pytest.mark.functional
@pytest.mark.parametrize(("name", "dialect"), _local_cases())
def test_scenario_on_local_backend(scenario: Callable[..., Any], name: str, dialect: str) -> None:
    outcome = scenario(name, dialect=dialect, backend="local")
    assert outcome.ok, outcome.report()


@pytest.mark.functional
@pytest.mark.parametrize("name", SCALING)
def test_scaling_scenario_with_more_minions(scenario: Callable[..., Any], name: str) -> None:
    outcome = scenario(name, backend="local", minions=6)
    assert len(outcome.scenario.settings.minions) == 6
    assert outcome.ok, outcome.report()


@pytest.mark.docker
@pytest.mark.parametrize("name", [p.stem for p in _files()])
def test_scenario_on_docker_backend(scenario: Callable[..., Any], name: str) -> None:
    outcome = scenario(name, dialect="3008")
    assert outcome.ok, outcome.report()


def test_catalogue_is_complete() -> None:
    names = {p.stem for p in _files()}
    wanted = {"presence", "auth", "keys", "start", "jobs", "runners", "restart-master"}
    wanted |= {"custom-events", "churn-smoke", "cloud", "kill-mid-job"}
    assert wanted <= names, f"missing scenario files: {sorted(wanted - names)}"
