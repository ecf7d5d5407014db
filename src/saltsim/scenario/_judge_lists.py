"""Judging the list kinds of expectation: ``order``, ``sequence`` and ``unordered``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from saltsim.scenario._bus_order import Slot
from saltsim.scenario._scope import Scope, Verdict, first_match, seqs
from saltsim.scenario.expectations import ExpectOrder, ExpectSequence, ExpectUnordered

__all__ = ["judge_order", "judge_sequence", "judge_unordered"]


def judge_order(exp: ExpectOrder, scope: Scope) -> Verdict:
    start, matched = 0, list[Slot]()
    total = len(exp.patterns)
    for number, pattern in enumerate(exp.patterns, start=1):
        if unbound := scope.unbound(pattern, scope.captures, number):
            return unbound
        hit = first_match(scope, pattern, start, scope.captures)
        if hit is None:
            after = (
                f"after seq {matched[-1].seq} (pattern {number - 1}'s match)"
                if matched
                else "anywhere"
            )
            described = pattern.describe(scope.captures)
            message = f"pattern {number} of {total} never matched {after}: {described}"
            earlier = first_match(scope, pattern, 0, scope.captures) if matched else None
            if earlier is not None:
                message += f"; it matched earlier, at seq {scope.view[earlier[0]].seq}"
            verdict = scope.miss(pattern, start, number, message, scope.captures)
            verdict.matched = matched
            return verdict
        index, captured = hit
        scope.captures.update(captured)
        matched.append(scope.view[index])
        start = index + 1
    noun = "pattern" if total == 1 else "patterns"
    return Verdict(True, f"{total} {noun} matched in order (seq {seqs(matched)})", matched)


@dataclass
class _Attempt:
    """One try at a ``sequence`` from one start event: how far it got, and where it stopped."""

    matched: list[Slot]
    captures: dict[str, Any]
    stop: int | None = None  # view index of the event that broke it (None: stream ended)


def _try_sequence(exp: ExpectSequence, scope: Scope, start: int, first: dict[str, Any]) -> _Attempt:
    view, patterns = scope.view, exp.patterns
    attempt = _Attempt([view[start]], {**scope.captures, **first})

    def kept(slot: Slot) -> bool:
        tag = slot.event.tag
        return any(
            p.sees(tag) and p.tag_matcher(attempt.captures, wild=True)(tag) for p in patterns
        )

    at = start
    for pattern in patterns[1:]:
        at = next((j for j in range(at + 1, len(view)) if kept(view[j])), len(view))
        got = pattern.match(view[at].event, attempt.captures) if at < len(view) else None
        if got is None:
            attempt.stop = at if at < len(view) else None
            return attempt
        attempt.captures.update(got)
        attempt.matched.append(view[at])
    return attempt


def judge_sequence(exp: ExpectSequence, scope: Scope) -> Verdict:
    patterns, view = exp.patterns, scope.view
    known = set(scope.captures)
    for number, pattern in enumerate(patterns, start=1):
        if unbound := scope.unbound(pattern, dict.fromkeys(known), number):
            return unbound
        known |= set(pattern.captures)
    best: _Attempt | None = None
    for start in range(len(view)):
        first = patterns[0].match(view[start].event, scope.captures)
        if first is None:
            continue
        attempt = _try_sequence(exp, scope, start, first)
        if len(attempt.matched) == len(patterns):
            scope.captures.update(attempt.captures)
            message = f"{len(patterns)} patterns consecutive at seq {seqs(attempt.matched)}"
            return Verdict(True, message, attempt.matched)
        if best is None or len(attempt.matched) > len(best.matched):
            best = attempt
    if best is None:
        described = patterns[0].describe(scope.captures)
        message = f"pattern 1 of {len(patterns)} never matched: {described}"
        return scope.miss(patterns[0], 0, 1, message, scope.captures, next_is_got=False)
    reached, matched = len(best.matched), best.matched
    pattern = patterns[reached]
    expected = pattern.describe(best.captures)
    if best.stop is None:
        message = (
            f"patterns 1-{reached} matched from seq {matched[0].seq}, then the stream ended "
            f"before pattern {reached + 1}: {expected}"
        )
        window = scope.window(len(view) - 1)
        return Verdict(False, message, matched, reached, None, window, captures=best.captures)
    got = view[best.stop]
    message = (
        f"after patterns 1-{reached} (from seq {matched[0].seq}) came seq {got.seq} "
        f"{got.event.tag}, not pattern {reached + 1}: {expected}"
    )
    if pattern.tag_matcher(best.captures)(got.event.tag):
        message += f" ({pattern.explain(got.event, best.captures)})"
    window = scope.window(best.stop)
    return Verdict(False, message, matched, reached, got, window, captures=best.captures)


def _assign(candidates: list[list[int]]) -> dict[int, int]:
    """A maximum matching patterns -> events (Kuhn's augmenting paths), as {event: pattern}."""
    owner: dict[int, int] = {}

    def augment(pattern: int, seen: set[int]) -> bool:
        for event in candidates[pattern]:
            if event in seen:
                continue
            seen.add(event)
            if event not in owner or augment(owner[event], seen):
                owner[event] = pattern
                return True
        return False

    for pattern in range(len(candidates)):
        augment(pattern, set())
    return owner


def judge_unordered(exp: ExpectUnordered, scope: Scope) -> Verdict:
    candidates: list[list[int]] = []
    found: list[dict[int, dict[str, Any]]] = []
    for number, pattern in enumerate(exp.patterns, start=1):
        if unbound := scope.unbound(pattern, scope.captures, number):
            return unbound
        hits = {
            i: got
            for i, slot in enumerate(scope.view)
            if (got := pattern.match(slot.event, scope.captures)) is not None
        }
        candidates.append(list(hits))
        found.append(hits)
    owner = _assign(candidates)
    by_pattern = {pattern: event for event, pattern in owner.items()}
    matched = [scope.view[i] for i in sorted(owner)]
    missing = [k for k in range(len(exp.patterns)) if k not in by_pattern]
    if not missing:
        for k in range(len(exp.patterns)):
            scope.captures.update(found[k][by_pattern[k]])
        return Verdict(
            True,
            f"{len(exp.patterns)} patterns matched distinct events (seq {seqs(matched)})",
            matched,
        )
    k = missing[0]
    pattern = exp.patterns[k]
    if candidates[k]:
        rivals = ", ".join(
            str(n) for n in sorted({owner[i] + 1 for i in candidates[k] if i in owner})
        )
        contested = seqs([scope.view[i] for i in candidates[k]])
        message = (
            f"pattern {k + 1} of {len(exp.patterns)} matches only events that patterns "
            f"{rivals} need (seq {contested})"
        )
        verdict = Verdict(
            False,
            message,
            divergence_index=k,
            focus=scope.view[candidates[k][0]],
            window=scope.window(candidates[k][0]),
        )
    else:
        described = pattern.describe(scope.captures)
        message = f"pattern {k + 1} of {len(exp.patterns)} matched no event: {described}"
        verdict = scope.miss(pattern, 0, k + 1, message, scope.captures, next_is_got=False)
    verdict.matched = matched
    return verdict
