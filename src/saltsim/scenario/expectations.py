"""The expectation kinds of a scenario's ``expect:`` list, as typed values.

Each kind is a frozen dataclass with the ``line`` it was written on and an optional
``dialect`` (``"3006"`` / ``"3008"``): an expectation for another dialect than the run's
is skipped. ``check`` in ``checker.py`` gives them their meaning.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from saltsim.scenario.pattern import Pattern

__all__ = [
    "EXPECTATION_KINDS",
    "ExpectCount",
    "ExpectEachMinion",
    "ExpectNever",
    "ExpectOrder",
    "ExpectSequence",
    "ExpectUnordered",
    "ExpectWithin",
    "Expectation",
]

EXPECTATION_KINDS = ("order", "sequence", "unordered", "count", "never", "within", "each_minion")


@dataclass(frozen=True, kw_only=True)
class Expectation:
    """What every kind has: where it was written and the dialect it is for (``None``: any)."""

    kind: ClassVar[str] = ""
    line: int = 0
    dialect: str | None = None
    # ``only:`` / ``not_on:`` in the file: the implementations it holds on (saltsim, salt;
    # ``None``: every one), and ``why:`` it does not hold on the others.
    only: tuple[str, ...] | None = None
    why: str = ""

    def all_patterns(self) -> tuple[Pattern, ...]:
        """Its patterns in document order (captures flow in this order)."""
        return ()


@dataclass(frozen=True, kw_only=True)
class ExpectOrder(Expectation):
    """``order: [P, ...]``: the patterns match events in this order; others may come between."""

    kind: ClassVar[str] = "order"
    patterns: tuple[Pattern, ...]

    def all_patterns(self) -> tuple[Pattern, ...]:
        return self.patterns


@dataclass(frozen=True, kw_only=True)
class ExpectSequence(Expectation):
    """``sequence: [P, ...]``: consecutive, once the stream is cut down to the events whose
    tag matches any of these patterns' tags."""

    kind: ClassVar[str] = "sequence"
    patterns: tuple[Pattern, ...]

    def all_patterns(self) -> tuple[Pattern, ...]:
        return self.patterns


@dataclass(frozen=True, kw_only=True)
class ExpectUnordered(Expectation):
    """``unordered: [P, ...]``: each pattern matches a distinct event, in any order."""

    kind: ClassVar[str] = "unordered"
    patterns: tuple[Pattern, ...]

    def all_patterns(self) -> tuple[Pattern, ...]:
        return self.patterns


@dataclass(frozen=True, kw_only=True)
class ExpectCount(Expectation):
    """``count: {pattern, min, max}`` (or ``exactly``), optionally ``between`` two steps."""

    kind: ClassVar[str] = "count"
    pattern: Pattern
    min: int | None = None
    max: int | None = None
    between: tuple[str, str] | None = None

    def all_patterns(self) -> tuple[Pattern, ...]:
        return (self.pattern,)

    @property
    def bounds(self) -> str:
        """``exactly 2``, ``at least 1``, ``at least 1 and at most 3``."""
        if self.min == self.max:
            return f"exactly {self.min}"
        low = f"at least {self.min}" if self.min is not None else ""
        high = f"at most {self.max}" if self.max is not None else ""
        return " and ".join(part for part in (low, high) if part)


@dataclass(frozen=True, kw_only=True)
class ExpectNever(Expectation):
    """``never: P``: no event matches, in the whole run or ``between`` two named steps."""

    kind: ClassVar[str] = "never"
    pattern: Pattern
    between: tuple[str, str] | None = None

    def all_patterns(self) -> tuple[Pattern, ...]:
        return (self.pattern,)


@dataclass(frozen=True, kw_only=True)
class ExpectWithin(Expectation):
    """``within: {after, seconds, pattern}``: a match arrives at most ``seconds`` after the
    named step started (the recorder's clock; the only expectation that reads time)."""

    kind: ClassVar[str] = "within"
    after: str
    seconds: float
    pattern: Pattern

    def all_patterns(self) -> tuple[Pattern, ...]:
        return (self.pattern,)


@dataclass(frozen=True, kw_only=True)
class ExpectEachMinion(Expectation):
    """``each_minion: {KIND: ...}``: ``inner`` holds for every minion, with ``${minion}`` set,
    judged on that minion's events only."""

    kind: ClassVar[str] = "each_minion"
    inner: Expectation
    # ``of: [IDS]`` beside it: only these minions (``None``: every judged minion);
    # ``but: [IDS]``: every one but these.
    of: tuple[str, ...] | None = None
    but: tuple[str, ...] = ()

    def minions(self, judged: tuple[str, ...]) -> tuple[str, ...]:
        """The minions it is judged for, among ``judged``."""
        chosen = judged if self.of is None else self.of
        return tuple(m for m in chosen if m not in self.but)

    def all_patterns(self) -> tuple[Pattern, ...]:
        return self.inner.all_patterns()
