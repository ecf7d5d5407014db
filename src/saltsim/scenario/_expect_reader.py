"""Reading the ``expect:`` list into expectation values, and checking how captures flow."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Any

from saltsim.scenario._differences import parse_implementations
from saltsim.scenario._parse import Reader, describe_type
from saltsim.scenario._yaml import YList
from saltsim.scenario.expectations import (
    EXPECTATION_KINDS,
    Expectation,
    ExpectCount,
    ExpectEachMinion,
    ExpectNever,
    ExpectOrder,
    ExpectSequence,
    ExpectUnordered,
    ExpectWithin,
)
from saltsim.scenario.pattern import BUILTINS, Pattern
from saltsim.scenario.spec import minion_id_problem
from saltsim.stamp import DIALECTS

__all__ = ["check_captures", "parse_dialect", "parse_expectations"]

_LISTS = {"order": ExpectOrder, "sequence": ExpectSequence, "unordered": ExpectUnordered}
_WINDOWED = ("never", "count")
_LIMITS = ("only", "not_on", "why")  # beside the kind: the implementations it holds on
_SUBSET = ("of", "but")  # beside each_minion: which minions it is judged for


def parse_dialect(reader: Reader, value: Any, line: int, what: str) -> str:
    text = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
    if text not in DIALECTS:
        reader.fail(line, f'{what} must be "3006" or "3008", not {describe_type(value)}')
    return str(text)


class _Parser:
    def __init__(self, reader: Reader, step_names: Collection[str]) -> None:
        self.reader = reader
        self.step_names = step_names

    def step_name(self, value: Any, line: int, what: str) -> str:
        name = self.reader.text(value, line, what)
        if name not in self.step_names:
            known = ", ".join(sorted(self.step_names)) or "none (give steps a name: key)"
            self.reader.fail(
                line, f"{what} names step {name!r}, which no step has; named steps: {known}"
            )
        return name

    def expectation(self, item: Any, line: int, outer: bool) -> Expectation:
        reader = self.reader
        mapping = reader.mapping(item, line, "expectation" if outer else "each_minion")
        kinds = [key for key in mapping if key not in ("dialect", "between", *_LIMITS, *_SUBSET)]
        allowed = EXPECTATION_KINDS if outer else EXPECTATION_KINDS[:-1]
        for kind in kinds:
            if kind not in allowed:
                where = "expectation kind" if outer else "kind inside each_minion"
                reader.fail(
                    mapping.key_line(kind), f"unknown {where} {kind!r}; known: {', '.join(allowed)}"
                )
        if len(kinds) != 1:
            problem = (
                "has no kind" if not kinds else f"has two kinds, {kinds[0]!r} and {kinds[1]!r}"
            )
            reader.fail(mapping.line, f"expectation {problem}; known: {', '.join(allowed)}")
        kind = kinds[0]
        for key in _SUBSET:
            if key in mapping and (kind != "each_minion" or not outer):
                reader.fail(mapping.key_line(key), f"{key} goes beside each_minion only")
        dialect = None
        if "dialect" in mapping:
            if not outer:
                reader.fail(
                    mapping.key_line("dialect"), "dialect goes beside each_minion, not inside"
                )
            dialect = parse_dialect(
                reader, mapping["dialect"], mapping.line_of("dialect"), "dialect"
            )
        between = None
        if "between" in mapping:
            if kind not in _WINDOWED:
                reader.fail(mapping.key_line("between"), "between applies to never and count only")
            between = self.between(mapping["between"], mapping.line_of("between"))
        value, value_line = mapping[kind], mapping.line_of(kind)
        only, why = parse_implementations(reader, mapping) if outer else (None, "")
        common: dict[str, Any] = {
            "line": mapping.line,
            "dialect": dialect,
            "only": only,
            "why": why,
        }
        if kind in _LISTS:
            return _LISTS[kind](patterns=self.patterns(kind, value, value_line), **common)
        if kind == "never":
            return ExpectNever(
                pattern=reader.pattern(value, value_line, "never pattern"),
                between=between,
                **common,
            )
        if kind == "count":
            return self.count(value, value_line, between, common)
        if kind == "within":
            return self.within(value, value_line, common)
        inner = self.expectation(value, value_line, outer=False)
        return ExpectEachMinion(inner=inner, **self.subset(mapping), **common)

    def subset(self, mapping: Any) -> dict[str, Any]:
        """``of: [IDS]`` / ``but: [IDS]`` beside each_minion."""
        chosen: dict[str, Any] = {}
        for key in _SUBSET:
            if key in mapping:
                ids = self.reader.listing(mapping[key], mapping.line_of(key), f"each_minion {key}")
                for name in ids:
                    if problem := minion_id_problem(name):
                        self.reader.fail(mapping.line_of(key), f"each_minion {key}: {problem}")
                chosen[key] = tuple(ids)
        return chosen

    def patterns(self, kind: str, value: Any, line: int) -> tuple[Pattern, ...]:
        if not isinstance(value, YList) or not value:
            self.reader.fail(line, f"expectation {kind!r} needs a list of patterns")
        return tuple(
            self.reader.pattern(item, value.line_of(i), f"{kind} pattern {i + 1}")
            for i, item in enumerate(value)
        )

    def between(self, value: Any, line: int) -> tuple[str, str]:
        if not isinstance(value, YList) or len(value) != 2:
            self.reader.fail(line, "between needs two step names: [FIRST_STEP, LAST_STEP]")
        return (
            self.step_name(value[0], value.line_of(0), "between"),
            self.step_name(value[1], value.line_of(1), "between"),
        )

    def count(
        self, value: Any, line: int, between: tuple[str, str] | None, common: dict[str, Any]
    ) -> ExpectCount:
        reader = self.reader
        mapping = reader.mapping(value, line, "count")
        reader.only_keys(mapping, ("pattern", "min", "max", "exactly"), "count")
        if "pattern" not in mapping:
            reader.fail(line, "count needs pattern")
        bounds = {
            k: reader.count(mapping[k], mapping.line_of(k), f"count {k}")
            for k in ("min", "max", "exactly")
            if k in mapping
        }
        if "exactly" in bounds and len(bounds) > 1:
            reader.fail(line, "count takes exactly, or min and/or max, not both")
        if not bounds:
            reader.fail(line, "count needs min, max or exactly")
        low, high = (
            bounds.get("exactly", bounds.get("min")),
            bounds.get("exactly", bounds.get("max")),
        )
        if low is not None and high is not None and low > high:
            reader.fail(line, f"count min {low} is above max {high}")
        pattern = reader.pattern(mapping["pattern"], mapping.line_of("pattern"), "count pattern")
        return ExpectCount(pattern=pattern, min=low, max=high, between=between, **common)

    def within(self, value: Any, line: int, common: dict[str, Any]) -> ExpectWithin:
        reader = self.reader
        mapping = reader.mapping(value, line, "within")
        reader.only_keys(mapping, ("after", "seconds", "pattern"), "within")
        for required in ("after", "seconds", "pattern"):
            if required not in mapping:
                reader.fail(line, f"within needs after, seconds and pattern; {required} is missing")
        return ExpectWithin(
            after=self.step_name(mapping["after"], mapping.line_of("after"), "within after"),
            seconds=reader.number(mapping["seconds"], mapping.line_of("seconds"), "within seconds"),
            pattern=reader.pattern(
                mapping["pattern"], mapping.line_of("pattern"), "within pattern"
            ),
            **common,
        )


def parse_expectations(
    reader: Reader, value: Any, line: int, step_names: Collection[str]
) -> tuple[Expectation, ...]:
    items = reader.listing(value, line, "expect")
    parser = _Parser(reader, step_names)
    return tuple(
        parser.expectation(item, items.line_of(i), outer=True) for i, item in enumerate(items)
    )


def _need(reader: Reader, pattern: Pattern, known: set[str], note: str) -> None:
    for name in sorted(pattern.uses - known):
        if name == "minion":
            reader.fail(pattern.line, "${minion} is only set inside each_minion")
        reader.fail(pattern.line, f"${{{name}}} is not captured by an earlier pattern{note}")


def _flow(reader: Reader, exp: Expectation, known: set[str], note: str) -> set[str]:
    """Check one expectation's references; return the names it captures for later ones."""
    if isinstance(exp, ExpectEachMinion):
        _flow(reader, exp.inner, known | {"minion"}, note)
        return set()  # per-minion captures stay inside each_minion
    local = set(known)
    for pattern in exp.all_patterns():
        _need(reader, pattern, local if not isinstance(exp, ExpectUnordered) else known, note)
        if isinstance(exp, ExpectNever) and pattern.capture:
            reader.fail(pattern.line, "a never pattern cannot capture: it must match nothing")
        local |= set(pattern.captures)
    return local - known


def check_captures(
    reader: Reader, expectations: Iterable[Expectation], given: Iterable[str] = ()
) -> None:
    """Every ``${name}`` must be captured earlier in document order, in every dialect's run,
    or be ``given`` (``${minions}``, the jids ``cmd_async`` steps capture)."""
    expectations = tuple(expectations)
    for dialect in DIALECTS:
        known: set[str] = {*BUILTINS, *given}
        note = f" (in a run of dialect {dialect})" if any(e.dialect for e in expectations) else ""
        for exp in expectations:
            if exp.dialect in (None, dialect):
                known |= _flow(reader, exp, known, note)
