"""Text reports of a check: the expected patterns beside the recorded timeline.

``render_failure`` is what a failing scenario prints: run-level problems first (lost
events), then per failed expectation its patterns (``>>>`` at the first one that did not
match) and a window of the recorded events around the divergence, in bus order, with
step starts drawn in and ``<<< first divergence: expected X, got Y`` under the event.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from saltsim.scenario._bus_order import Slot, boundary, bus_order, concerns
from saltsim.scenario._compact import compact, shorten
from saltsim.scenario.checker import CheckResult, ExpectationResult
from saltsim.scenario.expectations import (
    Expectation,
    ExpectCount,
    ExpectEachMinion,
    ExpectNever,
    ExpectWithin,
)
from saltsim.scenario.pattern import Pattern
from saltsim.scenario.record import RecordedRun, StepMark

__all__ = ["expectation_title", "render_failure", "render_summary"]

MAX_ROWS = 40


def _inner(exp: Expectation) -> Expectation:
    return exp.inner if isinstance(exp, ExpectEachMinion) else exp


def expectation_title(result: ExpectationResult) -> str:
    """``order (line 20)``, ``each_minion never (line 38, dialect 3006)``."""
    exp = result.expectation
    kind = f"each_minion {_inner(exp).kind}" if isinstance(exp, ExpectEachMinion) else exp.kind
    dialect = f", dialect {exp.dialect}" if exp.dialect else ""
    return f"{kind} (line {exp.line}{dialect})"


def render_summary(result: CheckResult) -> str:
    """One line per expectation: ``pass  order (line 20): 3 patterns matched in order ...``."""
    lines = [f"!! {problem}" for problem in result.problems]
    for item in result.results:
        lines.append(f"{item.status:<7} {expectation_title(item)}: {item.message}")
    return "\n".join(lines)


def _expected_lines(result: ExpectationResult, width: int) -> list[str]:
    exp = _inner(result.expectation)
    captures = result.captures
    patterns = exp.all_patterns()
    lines = ["  expected" + (f" (for minion {result.minion})" if result.minion else "")]
    if isinstance(exp, ExpectNever):
        lines.append(f"       never  {patterns[0].describe(captures, width - 15)}")
        return lines
    if isinstance(exp, ExpectCount):
        lines.append(f"       count  {patterns[0].describe(captures, width - 40)}: {exp.bounds}")
        return lines
    if isinstance(exp, ExpectWithin):
        lines.append(
            f"       within {exp.seconds:g}s after step {exp.after!r}: "
            + patterns[0].describe(captures, width - 40)
        )
        return lines
    seqs = result.matched_seqs if exp.kind in ("order", "sequence") and not result.minion else []
    for index, pattern in enumerate(patterns):
        marker = ">>>" if index == result.divergence_index else "   "
        note = f"  seq {seqs[index]}" if index < len(seqs) else ""
        if index == result.divergence_index:
            note = "  <- first divergence"
        lines.append(f"  {marker} {index + 1:>2}  {pattern.describe(captures, width - 30)}{note}")
    return lines


def _row(slot: Slot, origin: float, marker: str, width: int, tag_width: int) -> str:
    seq = "-" if slot.seq is None else str(slot.seq)
    epoch = f"{slot.epoch}:" if slot.epoch else ""
    tag = shorten(slot.event.tag, tag_width)
    head = f"  {marker:<4}{epoch + seq:>7} {slot.t - origin:>8.2f}  {tag:<{tag_width}} "
    return head + compact(slot.event.data, max(width - len(head), 20))


def _expected_text(result: ExpectationResult, exp: Expectation, captures: Mapping[str, Any]) -> str:
    if isinstance(exp, ExpectNever):
        return f"no event matching {exp.pattern.describe(captures, 80)}"
    if isinstance(exp, ExpectCount):
        return f"{exp.bounds} of {exp.pattern.describe(captures, 80)}"
    if isinstance(exp, ExpectWithin):
        described = exp.pattern.describe(captures, 80)
        return f"{described} within {exp.seconds:g}s of step {exp.after!r}"
    patterns: Sequence[Pattern] = exp.all_patterns()
    index = result.divergence_index or 0
    return patterns[min(index, len(patterns) - 1)].describe(captures, 80) if patterns else "?"


def _recorded_lines(
    result: ExpectationResult, run: RecordedRun, slots: list[Slot], width: int
) -> list[str]:
    exp = _inner(result.expectation)
    if result.window is None:
        if result.divergence_index is None:
            return []
        expected = _expected_text(result, exp, result.captures)
        return [f"  <<< first divergence: expected {expected}, got no such event in the run"]
    low, high = result.window
    shown = [
        s for s in slots[low:high] if result.minion is None or concerns(s.event, result.minion)
    ]
    if len(shown) > MAX_ROWS:
        shown = shown[:MAX_ROWS]
    if not shown:
        return ["  recorded: no events" + (f" concerning {result.minion}" if result.minion else "")]
    whose = f" concerning {result.minion}" if result.minion else ""
    tag_width = min(max(len(s.event.tag) for s in shown), width // 3)
    lines = [
        f"  recorded{whose}: positions {low + 1}-{high} of {len(slots)} events, bus order, "
        f"seconds since the run began",
        f"  {'':<4}{'seq':>7} {'+t':>8}  {'tag':<{tag_width}} data",
    ]
    starts: dict[int, list[StepMark]] = {}
    for mark in run.marks:
        starts.setdefault(boundary(slots, mark), []).append(mark)
    matched = set(result.matched_at)
    for slot in shown:
        for mark in starts.get(slot.pos, []):
            label = f"{mark.index + 1} {mark.kind} {mark.name or ''}".rstrip()
            lines.append(f"  ---- step {label} began (last seq before it: {mark.first_seq})")
        marker = "<<<" if slot.pos == result.focus else "ok" if slot.pos in matched else ""
        lines.append(_row(slot, run.origin, marker, width, tag_width))
        if slot.pos == result.focus:
            expected = _expected_text(result, exp, result.captures)
            got = f"{slot.event.tag} {compact(slot.event.data)}"
            line = f"  <<< first divergence: expected {expected}, got {got}"
            lines.append(shorten(line, max(width, len(line) - len(got) + 40)))
    if result.focus is None and result.divergence_index is not None:
        lines.append(
            f"  <<< first divergence: expected {_expected_text(result, exp, result.captures)}, "
            "got nothing more"
        )
    return lines


def render_failure(result: CheckResult, run: RecordedRun, width: int = 140) -> str:
    """The report of a failed check, for a terminal ``width`` (100-160) columns wide."""
    slots = bus_order(run)
    failed, skipped = result.failed, result.skipped
    header = (
        f"scenario {run.scenario or '?'}: {'passed' if result.ok else 'FAILED'}, "
        f"dialect {run.dialect}, "
        f"{len(run.events)} events, {run.restarts} bus restarts; "
        f"{len(failed)} of {len(result.results)} expectations failed, {len(skipped)} skipped"
    )
    lines = [header]
    for problem in result.problems:
        lines.append(f"!! {problem}; ordering verdicts below may follow from it")
    for item in failed:
        lines.append("")
        lines.append(f"FAIL {expectation_title(item)}: {item.message}")
        lines.extend(_expected_lines(item, width))
        lines.extend(_recorded_lines(item, run, slots, width))
    if skipped:
        lines.append("")
        lines.extend(f"skipped {expectation_title(item)}: {item.message}" for item in skipped)
    return "\n".join(lines)
