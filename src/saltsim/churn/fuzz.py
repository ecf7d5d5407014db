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

from saltsim.churn.campaign import Campaign, ChurnSettings
from saltsim.churn.machine import ChurnMachine

__all__ = ["CampaignResult", "run_campaign"]


@dataclass
class CampaignResult:
    seed: int
    coverage: str
    missing: list[str]
    examples: int
    steps: int
    seconds: float
    failure: str | None = None
    failure_path: str | None = None
    histories: list[list[str]] = field(default_factory=list)

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


def _describe(exc: BaseException) -> str:
    """The failure's own text; a flaky one (failed, then passed on replay) says so."""
    inner = getattr(exc, "exceptions", None)
    if inner:
        texts = "\n".join(_describe(e) for e in inner)
        return f"{type(exc).__name__} (failed, then passed when replayed):\n{texts}"
    return str(exc)


def run_campaign(churn: ChurnSettings, say: Callable[[str], None] = print) -> CampaignResult:
    chosen = churn.seed if churn.seed is not None else random.SystemRandom().randrange(2**32)
    campaign = Campaign(churn, chosen)
    machine = type("ChurnMachine", (ChurnMachine,), {"campaign": campaign})
    seed(chosen)(machine)
    phases = [Phase.generate, Phase.shrink] if churn.shrink else [Phase.generate]
    budget = settings(
        max_examples=churn.examples,
        stateful_step_count=churn.steps,
        deadline=None,
        database=None,
        phases=phases,
        suppress_health_check=list(HealthCheck),
        report_multiple_bugs=False,
        print_blob=False,
    )
    broken = f", broken master {churn.broken}" if churn.broken else ""
    say(
        f"churn fuzzing on {churn.backend} (dialect {churn.dialect}{broken}): seed {chosen}, "
        f"up to {churn.examples} examples x {churn.steps} steps within {churn.time_budget:g} s"
    )
    failure = None
    with _shrink_limit(churn.shrink_time):
        try:
            run_state_machine_as_test(machine, settings=budget)
        except Exception as exc:
            failure = _describe(exc)
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
