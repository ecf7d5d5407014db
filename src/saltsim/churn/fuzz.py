"""Run a churn campaign: Hypothesis drives ``ChurnMachine`` within the campaign's budget.

The seed is chosen here when none is given and always printed, so any run can be
repeated step for step (``--seed``). Hypothesis' example database is off for the
same reason: a seed alone decides what runs.
"""

from __future__ import annotations

import contextlib
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from hypothesis import HealthCheck, Phase, seed, settings
from hypothesis.stateful import run_state_machine_as_test

from saltsim.churn.campaign import Campaign, ChurnFailure, ChurnSettings
from saltsim.churn.machine import ChurnMachine

__all__ = ["CampaignResult", "run_campaign"]


@dataclass
class CampaignResult:
    """A campaign's verdict (``ok``: no failure and no required transition missed), its
    seed for a replay, coverage, and each example's steps."""

    seed: int
    coverage: str
    missing: list[str]
    examples: int
    steps: int
    seconds: float
    failure: str | None = None
    failure_path: str | None = None
    histories: list[list[str]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)  # transition -> times exercised
    failing_lengths: list[int] = field(default_factory=list)  # first found ... last shrunk

    @property
    def ok(self) -> bool:
        return self.failure is None and not self.missing


@contextlib.contextmanager
def _shrink_limit(seconds: float) -> Iterator[None]:
    """Hypothesis stops shrinking after MAX_SHRINKING_SECONDS (300 s in its engine); a
    campaign's own ``shrink_time`` replaces it while the campaign runs. An internal of
    Hypothesis: if it ever moves, shrinking keeps Hypothesis' own bound."""
    from hypothesis.internal.conjecture import engine

    old = getattr(engine, "MAX_SHRINKING_SECONDS", None)
    if old is None:
        yield
        return
    engine.MAX_SHRINKING_SECONDS = int(max(1, seconds))
    try:
        yield
    finally:
        engine.MAX_SHRINKING_SECONDS = old


def _run_round(campaign: Campaign, round_seed: int, examples: int) -> None:
    churn = campaign.settings
    machine = type("ChurnMachine", (ChurnMachine,), {"campaign": campaign})
    seed(round_seed)(machine)
    phases = [Phase.generate, Phase.shrink] if churn.shrink else [Phase.generate]
    budget = settings(
        max_examples=examples,
        stateful_step_count=churn.steps,
        deadline=None,
        database=None,
        phases=phases,
        suppress_health_check=list(HealthCheck),
        report_multiple_bugs=False,
        print_blob=False,
    )
    run_state_machine_as_test(machine, settings=budget)


def _describe(exc: BaseException, failures: list[str]) -> str:
    """The failing example's report. When Hypothesis ends with something else, the
    example did not fail the same way when replayed (a race, or a bug that strikes at
    random): the first report found, with what Hypothesis said."""
    if isinstance(exc, ChurnFailure):
        return str(exc)
    if not failures:
        return f"{type(exc).__name__}: {exc}"
    return (
        f"{failures[0]}\n(it did not fail the same way when Hypothesis replayed it: "
        f"{type(exc).__name__}: {str(exc).strip().splitlines()[0]})"
    )


def run_campaign(churn: ChurnSettings, say: Callable[[str], None] = print) -> CampaignResult:
    """Hypothesis runs in rounds: the first of ``min_examples`` examples, then of
    ``round_examples``, each with its own seed derived from the campaign's, until a
    failure, full coverage, the time budget or ``examples``. (Hypothesis cannot be told
    to stop midway; an example that changed behaviour with the clock would make its
    replays inconsistent.)"""
    chosen = churn.seed if churn.seed is not None else random.SystemRandom().randrange(2**32)
    campaign = Campaign(churn, chosen)
    broken = f", broken master {churn.broken}" if churn.broken else ""
    say(
        f"churn fuzzing on {churn.backend} (dialect {churn.dialect}{broken}): seed {chosen}, "
        f"up to {churn.examples} examples x {churn.steps} steps within {churn.time_budget:g} s"
    )
    failure = None
    left, number = churn.examples, 0
    with _shrink_limit(churn.shrink_time):
        while left > 0:
            size = min(left, max(churn.min_examples, 1) if number == 0 else churn.round_examples)
            try:
                _run_round(campaign, chosen + number, size)
            except Exception as exc:
                failure = _describe(exc, campaign.failures)
                campaign.failed = True
            left, number = left - size, number + 1
            if campaign.finished():
                break
    coverage = campaign.coverage
    result = CampaignResult(
        seed=chosen,
        coverage=coverage.report(),
        missing=coverage.missing if churn.require_coverage and failure is None else [],
        examples=coverage.examples,
        steps=coverage.steps,
        seconds=time.monotonic() - campaign.began,
        failure=failure,
        failure_path=str(campaign.failure_path) if failure else None,
        histories=campaign.histories,
        counts=dict(coverage.counts),
        failing_lengths=campaign.failing_lengths,
    )
    say(result.coverage)
    if failure:
        say(f"FAILED (seed {chosen}):\n{failure}")
    elif result.missing:
        say(
            f"FAILED: required transitions never exercised: {', '.join(result.missing)}; "
            "give the campaign more examples, steps or time"
        )
    else:
        say(
            f"PASSED: {result.examples} examples, {result.steps} steps in "
            f"{result.seconds:.0f} s, every invariant held (seed {chosen})"
        )
    return result
