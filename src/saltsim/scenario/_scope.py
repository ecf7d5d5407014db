"""What every expectation kind is judged with: the events in view, captures, and a verdict.

A ``Scope`` holds the events under judgement (all of them, or one minion's), in bus order,
and the captures so far, which a kind extends; a ``Verdict`` says where it diverged.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from saltsim.scenario._bus_order import Slot
from saltsim.scenario.pattern import Pattern
from saltsim.scenario.record import RecordedRun

__all__ = ["CONTEXT", "Scope", "Verdict", "first_match", "seqs"]

CONTEXT = 6  # events shown either side of a divergence


@dataclass
class Verdict:
    """A judge's answer on one expectation: ok or where it diverged, and what matched."""

    ok: bool
    message: str
    matched: list[Slot] = field(default_factory=list)
    divergence_index: int | None = None
    focus: Slot | None = None  # the event shown as "got" at the divergence
    window: tuple[int, int] | None = None  # bus-order positions [start, end) worth showing
    minion: str | None = None
    captures: dict[str, Any] | None = None  # captures to show the patterns with, if not the scope's


@dataclass
class Scope:
    """What a judge is given: the events in view (all, or one minion's), in bus order,
    and the captures so far."""

    view: list[Slot]  # the events judged, in bus order
    slots: list[Slot]  # every event, for step boundaries
    run: RecordedRun
    origins: Mapping[str, int]  # capture name -> line of the pattern that captures it
    captures: dict[str, Any]

    def window(self, at: int, before: int = CONTEXT, after: int = CONTEXT) -> tuple[int, int]:
        """Positions around view index ``at`` (clamped), as bus-order positions."""
        if not self.view:
            return (0, 0)
        at = min(max(at, 0), len(self.view) - 1)
        low, high = max(at - before, 0), min(at + after + 1, len(self.view))
        return (self.view[low].pos, self.view[high - 1].pos + 1)

    def unbound(self, pattern: Pattern, captures: Mapping[str, Any], number: int) -> Verdict | None:
        missing = pattern.missing(captures)
        if not missing:
            return None
        name = missing[0]
        origin = self.origins.get(name)
        why = (
            f"the pattern at line {origin} that captures it did not match"
            if origin
            else "never captured"
        )
        return Verdict(
            False,
            f"pattern {number} needs ${{{name}}}, which is not set: {why}",
            divergence_index=number - 1,
        )

    def near_miss(
        self, pattern: Pattern, start: int, captures: Mapping[str, Any]
    ) -> tuple[int, str] | None:
        """The first event from ``start`` whose tag matches but whose data does not."""
        matcher = pattern.tag_matcher(captures)
        for i in range(start, len(self.view)):
            event = self.view[i].event
            if pattern.sees(event.tag) and matcher(event.tag):
                why = pattern.explain(event, captures)
                if why:
                    return i, why
        return None

    def miss(
        self,
        pattern: Pattern,
        start: int,
        number: int,
        message: str,
        captures: Mapping[str, Any],
        next_is_got: bool = True,
    ) -> Verdict:
        """A verdict for ``pattern`` not matching from view index ``start``.

        The event shown as "got" is the nearest miss (right tag, wrong data); without one,
        and if ``next_is_got``, the first event from ``start`` the pattern can see (what
        came where the match was expected); else none, and no window.
        """
        verdict = Verdict(False, message, divergence_index=number - 1)
        near = self.near_miss(pattern, start, captures)
        if near:
            verdict.message += f"; nearest: seq {self.view[near[0]].seq}: {near[1]}"
            verdict.focus, verdict.window = self.view[near[0]], self.window(near[0])
        elif next_is_got:
            at = start
            while at < len(self.view) and not pattern.sees(self.view[at].event.tag):
                at += 1
            if at < len(self.view):
                verdict.focus, verdict.window = self.view[at], self.window(at, 3, 9)
            elif self.view:
                verdict.window = self.window(len(self.view) - 1)
        return verdict


def first_match(
    scope: Scope, pattern: Pattern, start: int, captures: Mapping[str, Any]
) -> tuple[int, dict[str, Any]] | None:
    for i in range(start, len(scope.view)):
        got = pattern.match(scope.view[i].event, captures)
        if got is not None:
            return i, got
    return None


def seqs(slots: Sequence[Slot]) -> str:
    shown = [str(s.seq) for s in slots[:8]]
    return ", ".join(shown) + (", ..." if len(slots) > 8 else "")
