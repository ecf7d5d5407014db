"""A churn campaign's settings and shared state: its budget, seed, coverage and testbeds.

One ``Campaign`` lives across all the examples Hypothesis runs, in rounds (see
``fuzz.py``). Its budget has three bounds: examples, steps per example, and wall
time, checked between rounds, so a campaign overruns it by one round at most;
shrinking a failure has its own bound, ``shrink_time``. Coverage ends it sooner:
once every required transition was exercised and ``min_examples`` ran, no
further round begins.
"""

from __future__ import annotations

import dataclasses
import sys
import time
from pathlib import Path
from typing import Any

from saltsim.churn.broken import BUGS
from saltsim.churn.coverage import Coverage
from saltsim.deadline import Deadline
from saltsim.errors import ConfigError, SaltsimError
from saltsim.testbed.base import SaltsimTestbed

__all__ = ["MASTER_OPTIONS", "MINION_OPTIONS", "Campaign", "ChurnFailure", "ChurnSettings"]

# Short timers so that a step settles in about a second: presence every 0.2 s, a silent
# minion lost after 1.5 s (about seven missed heartbeats: a loaded machine must not make
# a healthy minion flap), sign-in retried every 0.2 s, a rejected minion gone at once.
MASTER_OPTIONS: dict[str, Any] = {
    "presence_events": True,
    "loop_interval": 0.2,
    "heartbeat_timeout": 1.5,
    "auto_accept": False,
}
MINION_OPTIONS: dict[str, Any] = {
    "heartbeat_interval": 0.2,
    "acceptance_wait_time": 0.2,
    "rejected_wait": 0.1,
    "request_timeout": 1.0,
}


class ChurnFailure(SaltsimError, AssertionError):
    """An invariant broke; the message has the step list and the replay file."""


@dataclasses.dataclass(frozen=True)
class ChurnSettings:
    """A campaign's backend, budget and bounds (validated on creation)."""

    backend: str = "local"
    dialect: str = "3008"
    examples: int = 60  # at most; the campaign ends sooner once covered (min_examples)
    min_examples: int = 10
    steps: int = 40  # rules per example (Hypothesis' stateful_step_count)
    time_budget: float = 600.0  # wall seconds in which rounds of examples may begin
    round_examples: int = 5  # examples per Hypothesis run after the first (min_examples)
    shrink: bool = True
    shrink_time: float = 120.0  # wall seconds Hypothesis may spend shrinking a failure
    seed: int | None = None
    broken: str | None = None  # one of broken.BUGS: run a deliberately broken master
    initial_minions: int = 2
    max_minions: int = 3
    converge_timeout: float = 15.0  # one step's deadline for what it must show
    out_dir: Path = Path("results/churn")
    require_coverage: bool = True

    def __post_init__(self) -> None:
        if self.backend not in ("local", "docker"):
            raise ConfigError(f"backend must be local or docker, not {self.backend!r}")
        if self.broken is not None and self.broken not in BUGS:
            raise ConfigError(f"unknown broken master {self.broken!r}; known: {', '.join(BUGS)}")
        if self.broken is not None and self.backend != "local":
            raise ConfigError("broken masters run on the local backend only")
        if min(self.examples, self.steps, self.max_minions, self.round_examples) < 1:
            raise ConfigError("examples, steps, round_examples and max_minions must be >= 1")
        if self.initial_minions < 0 or self.min_examples < 0:
            raise ConfigError("initial_minions and min_examples cannot be negative")
        if self.initial_minions > self.max_minions:
            raise ConfigError("initial_minions cannot exceed max_minions")
        if min(self.time_budget, self.shrink_time, self.converge_timeout) <= 0:
            raise ConfigError("time_budget, shrink_time and converge_timeout must be positive")


class Campaign:
    """What lives across a campaign's examples: its settings and seed, the coverage, the
    budget's deadline, each example's steps and every failure found; it makes each
    example's testbed."""

    def __init__(self, settings: ChurnSettings, seed: int) -> None:
        self.settings = settings
        self.seed = seed
        self.coverage = Coverage(settings.backend)
        self.began = time.monotonic()
        self.deadline = Deadline(settings.time_budget)  # for rounds to begin
        self.failed = False
        self.failure_path = settings.out_dir / "churn-failure.yaml"
        self.histories: list[list[str]] = []  # each example's steps, in the order run
        self.failing_lengths: list[int] = []  # steps of each failing example (shrinking)
        self.failures: list[str] = []  # each failing example's report, first found first

    def finished(self) -> bool:
        """No further round begins: a failure, the time is up, or every required
        transition was exercised in at least ``min_examples`` examples."""
        coverage = self.coverage
        covered = not coverage.missing and coverage.examples >= self.settings.min_examples
        return self.failed or covered or self.deadline.expired

    @property
    def master_options(self) -> dict[str, Any]:
        options = dict(MASTER_OPTIONS)
        if self.settings.backend == "docker":
            options["heartbeat_timeout"] = 2.0  # containers start and stop slower
        return options

    def scenario_settings(self) -> dict[str, Any]:
        settings = self.settings
        return {
            "backend": settings.backend,
            "dialect": settings.dialect,
            "master": self.master_options,
            "minion": dict(MINION_OPTIONS),
        }

    def make_testbed(self) -> SaltsimTestbed:
        settings = self.settings
        options: dict[str, Any] = {
            "dialect": settings.dialect,
            "master_options": self.master_options,
            "minion_options": dict(MINION_OPTIONS),
        }
        if settings.backend == "docker":
            from saltsim.testbed.docker_backend import DockerTestbed

            return DockerTestbed(**options)
        from saltsim.testbed.local import LocalTestbed

        if settings.broken is not None:
            options["master_command"] = [
                sys.executable,
                "-m",
                "saltsim.churn.broken",
                settings.broken,
            ]
        return LocalTestbed(**options)
