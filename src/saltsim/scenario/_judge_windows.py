"""Judging the kinds of expectation that look at a stretch of the run: ``count``, ``never``
and ``within``."""

from __future__ import annotations

from saltsim.scenario._bus_order import Slot, boundary
from saltsim.scenario._scope import Scope, Verdict, first_match, seqs
from saltsim.scenario.expectations import ExpectCount, ExpectNever, ExpectWithin

__all__ = ["judge_count", "judge_never", "judge_within"]


def _events(count: int) -> str:
    return f"{count} event" if count == 1 else f"{count} events"


def _match(count: int) -> str:
    """The verb after ``_events(count)``: "1 event in the run matches", "2 events ... match"."""
    return "matches" if count == 1 else "match"


def _between(scope: Scope, between: tuple[str, str] | None) -> tuple[list[Slot], str] | str:
    """The events between two named steps' starts, and words for it; a str when unusable."""
    if between is None:
        return scope.view, "in the run"
    first, last = (scope.run.mark_named(name) for name in between)
    if first is None:
        return f"step {between[0]!r} was never reached (no step mark), so its window is unknown"
    low = boundary(scope.slots, first)
    high = boundary(scope.slots, last) if last is not None else len(scope.slots)
    inside = [slot for slot in scope.view if low <= slot.pos < high]
    return inside, f"between steps {between[0]!r} and {between[1]!r}"


def judge_count(exp: ExpectCount, scope: Scope) -> Verdict:
    if unbound := scope.unbound(exp.pattern, scope.captures, 1):
        return unbound
    window = _between(scope, exp.between)
    if isinstance(window, str):
        return Verdict(False, window)
    events, where = window
    hits = [
        (s, got) for s in events if (got := exp.pattern.match(s.event, scope.captures)) is not None
    ]
    matched = [s for s, _ in hits]
    if hits:
        scope.captures.update(hits[0][1])
    low, high = exp.min, exp.max
    described = exp.pattern.describe(scope.captures)
    message = f"{_events(len(hits))} {where} {_match(len(hits))} {described}; expected {exp.bounds}"
    if (low is None or len(hits) >= low) and (high is None or len(hits) <= high):
        return Verdict(True, message, matched)
    if high is not None and len(hits) > high:
        extra = matched[high]
        return Verdict(False, message, matched, None, extra, scope.window(scope.view.index(extra)))
    verdict = scope.miss(
        exp.pattern,
        scope.view.index(events[0]) if events else len(scope.view),
        1,
        message,
        scope.captures,
        next_is_got=False,
    )
    verdict.divergence_index = None
    verdict.matched = matched
    return verdict


def judge_never(exp: ExpectNever, scope: Scope) -> Verdict:
    if unbound := scope.unbound(exp.pattern, scope.captures, 1):
        return unbound
    window = _between(scope, exp.between)
    if isinstance(window, str):
        return Verdict(False, window)
    events, where = window
    hits = [s for s in events if exp.pattern.match(s.event, scope.captures) is not None]
    described = exp.pattern.describe(scope.captures)
    if not hits:
        return Verdict(True, f"no event {where} matches {described}")
    message = (
        f"{_events(len(hits))} {where} {_match(len(hits))} {described}, "
        f"expected none (seq {seqs(hits)})"
    )
    return Verdict(False, message, hits, None, hits[0], scope.window(scope.view.index(hits[0])))


def judge_within(exp: ExpectWithin, scope: Scope) -> Verdict:
    if unbound := scope.unbound(exp.pattern, scope.captures, 1):
        return unbound
    mark = scope.run.mark_named(exp.after)
    if mark is None:
        return Verdict(False, f"step {exp.after!r} was never reached (no step mark)")
    low = boundary(scope.slots, mark)
    start = next((i for i, s in enumerate(scope.view) if s.pos >= low), len(scope.view))
    described = exp.pattern.describe(scope.captures)
    hit = first_match(scope, exp.pattern, start, scope.captures)
    if hit is None:
        return scope.miss(
            exp.pattern,
            start,
            1,
            f"no event after step {exp.after!r} matches {described}",
            scope.captures,
        )
    index, captured = hit
    slot = scope.view[index]
    scope.captures.update(captured)
    delay = slot.t - mark.started_at
    limit = f"limit {exp.seconds:g}s"
    message = f"seq {slot.seq} matched {delay:.2f}s after step {exp.after!r} began ({limit})"
    if delay <= exp.seconds:
        return Verdict(True, message, [slot])
    return Verdict(False, message, [slot], None, slot, scope.window(index))
