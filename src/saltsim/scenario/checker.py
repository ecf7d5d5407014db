"""Checking a scenario's expectations against a recorded run.

``check(scenario, run)`` judges every expectation in document order (captures flow
from one to the next) over the events in bus order, ``(epoch, _seq)``. Lost events
fail the run on their own, reported before any expectation: a gap in ``_seq`` makes
every ordering verdict unreliable, so it must not read as "wrong order".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from saltsim.scenario._backends import implementation
from saltsim.scenario._bus_order import Gap, Slot, bus_order, concerns, find_gaps
from saltsim.scenario._judge_lists import judge_order, judge_sequence, judge_unordered
from saltsim.scenario._judge_windows import judge_count, judge_never, judge_within
from saltsim.scenario._scope import Scope, Verdict
from saltsim.scenario.expectations import (
    Expectation,
    ExpectCount,
    ExpectEachMinion,
    ExpectNever,
    ExpectOrder,
    ExpectSequence,
    ExpectUnordered,
    ExpectWithin,
)
from saltsim.scenario.pattern import BUILTINS, builtin_captures
from saltsim.scenario.record import RecordedRun
from saltsim.scenario.spec import Scenario

__all__ = ["CheckResult", "ExpectationResult", "Gap", "check", "describe_loss"]


@dataclass(frozen=True)
class ExpectationResult:
    """The verdict on one expectation.

    ``matched_seqs`` are the ``_seq`` of the events that matched; ``divergence_index`` is
    the 0-based index of the first pattern that did not match (list kinds), else ``None``.
    ``focus`` and ``window`` are positions in bus order (``bus_order(run)``) for reports:
    the event shown as "got" at the divergence, and the span worth showing around it.
    """

    expectation: Expectation
    ok: bool
    skipped: bool = False
    message: str = ""
    matched_seqs: list[int] = field(default_factory=list)
    divergence_index: int | None = None
    matched_at: tuple[int, ...] = ()  # bus-order positions of the matched events
    focus: int | None = None
    window: tuple[int, int] | None = None
    minion: str | None = None  # each_minion: the first minion that failed
    captures: Mapping[str, Any] = field(default_factory=dict)  # in effect after it was judged

    @property
    def status(self) -> str:
        return "skipped" if self.skipped else "pass" if self.ok else "FAIL"


@dataclass(frozen=True)
class CheckResult:
    """``ok`` when nothing was lost and no expectation failed (skipped ones do not count)."""

    ok: bool
    results: tuple[ExpectationResult, ...]
    lost: int = 0
    gaps: tuple[Gap, ...] = ()
    problems: tuple[str, ...] = ()  # run-level failures, reported before expectations
    captures: Mapping[str, Any] = field(default_factory=dict)

    @property
    def failed(self) -> tuple[ExpectationResult, ...]:
        return tuple(r for r in self.results if not r.ok and not r.skipped)

    @property
    def skipped(self) -> tuple[ExpectationResult, ...]:
        return tuple(r for r in self.results if r.skipped)


_JUDGES: dict[type[Expectation], Callable[[Any, Scope], Verdict]] = {
    ExpectOrder: judge_order,
    ExpectSequence: judge_sequence,
    ExpectUnordered: judge_unordered,
    ExpectCount: judge_count,
    ExpectNever: judge_never,
    ExpectWithin: judge_within,
}


def judge(exp: Expectation, scope: Scope) -> Verdict:
    """Judge one expectation other than ``each_minion`` (which projects, then judges)."""
    return _JUDGES[type(exp)](exp, scope)


def describe_loss(lost: int, gaps: tuple[Gap, ...] | list[Gap]) -> str:
    """``lost events: 3 (gaps after seq 41, 97)``."""
    parts = []
    for gap in gaps[:10]:
        where = f"after seq {gap.after_seq}" if gap.after_seq else "at the start"
        if gap.epoch:
            where += f" of bus restart {gap.epoch}"
        parts.append(where + (f" ({gap.missing} missing)" if gap.missing > 1 else ""))
    if len(gaps) > 10:
        parts.append(f"... {len(gaps) - 10} more")
    detail = (
        "gaps " + ", ".join(parts)
        if parts
        else "counted by the listener, no gap among the recorded events"
    )
    return f"lost events: {lost} ({detail})"


def _origins(scenario: Scenario) -> dict[str, int]:
    origins: dict[str, int] = {}
    for exp in scenario.expectations:
        for pattern in exp.all_patterns():
            for name in pattern.captures:
                origins.setdefault(name, pattern.line)
    return origins


def _result(exp: Expectation, verdict: Verdict, captures: Mapping[str, Any]) -> ExpectationResult:
    return ExpectationResult(
        expectation=exp,
        ok=verdict.ok,
        message=verdict.message,
        matched_seqs=[s.seq for s in verdict.matched if s.seq is not None],
        divergence_index=verdict.divergence_index,
        matched_at=tuple(s.pos for s in verdict.matched),
        focus=verdict.focus.pos if verdict.focus else None,
        window=verdict.window,
        minion=verdict.minion,
        captures={**captures, **(verdict.captures or {})},
    )


def _each_minion(exp: ExpectEachMinion, scope: Scope, minions: tuple[str, ...]) -> Verdict:
    failures: list[tuple[str, Verdict]] = []
    matched: list[Slot] = []
    for minion in minions:
        view = [slot for slot in scope.view if concerns(slot.event, minion)]
        inner = Scope(
            view, scope.slots, scope.run, scope.origins, {**scope.captures, "minion": minion}
        )
        verdict = judge(exp.inner, inner)
        matched.extend(verdict.matched)
        if not verdict.ok:
            failures.append((minion, verdict))
    matched.sort(key=lambda slot: slot.pos)
    kind = exp.inner.kind
    if not failures:
        return Verdict(True, f"{kind} holds for each of {len(minions)} minions", matched)
    first_minion, first = failures[0]
    shown = "; ".join(f"{minion}: {verdict.message}" for minion, verdict in failures[:5])
    more = f"; ... {len(failures) - 5} more" if len(failures) > 5 else ""
    message = f"{kind} fails for {len(failures)} of {len(minions)} minions: {shown}{more}"
    return Verdict(
        False, message, matched, first.divergence_index, first.focus, first.window, first_minion
    )


def check(scenario: Scenario, run: RecordedRun) -> CheckResult:
    """Judge ``scenario``'s expectations against ``run`` (see the module docstring)."""
    slots = bus_order(run)
    gaps = tuple(find_gaps(slots))
    lost = max(run.lost, sum(gap.missing for gap in gaps))
    problems = (describe_loss(lost, gaps),) if lost else ()
    # the run's minions, and the jids its cmd_async steps captured
    captures: dict[str, Any] = {**builtin_captures(scenario.settings.minions), **run.jids}
    scope = Scope(slots, slots, run, _origins(scenario), captures)
    results: list[ExpectationResult] = []
    for exp in scenario.expectations:
        held_on = implementation(run.backend)
        if exp.only is not None and held_on not in exp.only:
            message = f"skipped: holds on {', '.join(exp.only)} only, not on {held_on}: {exp.why}"
            results.append(ExpectationResult(exp, ok=True, skipped=True, message=message))
            continue
        if exp.dialect is not None and exp.dialect != run.dialect:
            message = f"skipped: written for dialect {exp.dialect}, the run is {run.dialect}"
            results.append(ExpectationResult(exp, ok=True, skipped=True, message=message))
            continue
        if isinstance(exp, ExpectEachMinion):
            verdict = _each_minion(exp, scope, exp.minions(scenario.settings.judged))
            shown = {**captures, "minion": verdict.minion} if verdict.minion else captures
        else:
            verdict = judge(exp, scope)
            shown = captures
        results.append(_result(exp, verdict, shown))
    ok = not problems and all(r.ok or r.skipped for r in results)
    given = {*BUILTINS, *run.jids}
    made = {name: value for name, value in captures.items() if name not in given}
    return CheckResult(ok, tuple(results), lost, gaps, problems, made)
