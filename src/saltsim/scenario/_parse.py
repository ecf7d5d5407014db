"""Typed reading of located YAML values: each check fails with ``file:line: problem``."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, NoReturn

from saltsim.scenario._errors import ScenarioError
from saltsim.scenario._yaml import YList, YMap, plain
from saltsim.scenario.pattern import BUILTINS, PLACEHOLDER, Pattern
from saltsim.tags import MATCH_TYPES

__all__ = ["PATTERN_KEYS", "RESERVED_CAPTURES", "Reader", "describe_type"]

PATTERN_KEYS = ("tag", "match", "data", "exact", "capture")
RESERVED_CAPTURES = frozenset({"minion"})  # set by each_minion
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_TAG_PATH = re.compile(r"^@tag(\.-?\d+)?$")


def describe_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"a boolean ({value})".lower()
    if isinstance(value, int | float):
        return f"a number ({value})"
    if isinstance(value, str):
        return f"a string ({value!r})"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


class Reader:
    """Checks on values of one source file."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, line: int | None, problem: str) -> NoReturn:
        raise ScenarioError(self.source, line, problem)

    def mapping(self, value: Any, line: int, what: str) -> YMap:
        if not isinstance(value, YMap):
            self.fail(line, f"{what} must be a mapping, not {describe_type(value)}")
        return value

    def listing(self, value: Any, line: int, what: str) -> YList:
        if not isinstance(value, YList):
            self.fail(line, f"{what} must be a list, not {describe_type(value)}")
        return value

    def only_keys(self, mapping: YMap, known: Sequence[str], what: str) -> None:
        for key in mapping:
            if key not in known:
                shown = ", ".join(known)
                self.fail(mapping.key_line(key), f"unknown key {key!r} in {what}; known: {shown}")

    def text(self, value: Any, line: int, what: str, empty: bool = False) -> str:
        if not isinstance(value, str) or (not empty and not value):
            self.fail(line, f"{what} must be a non-empty string, not {describe_type(value)}")
        return value

    def number(self, value: Any, line: int, what: str, minimum: float = 0.0) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= minimum:
            self.fail(
                line, f"{what} must be a number above {minimum:g}, not {describe_type(value)}"
            )
        return float(value)

    def count(self, value: Any, line: int, what: str, minimum: int = 0) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            self.fail(
                line, f"{what} must be a whole number >= {minimum}, not {describe_type(value)}"
            )
        return value

    def boolean(self, value: Any, line: int, what: str) -> bool:
        if not isinstance(value, bool):
            self.fail(line, f"{what} must be true or false, not {describe_type(value)}")
        return value

    def plain_mapping(self, value: Any, line: int, what: str) -> dict[Any, Any]:
        return dict(plain(self.mapping(value, line, what)))

    # -- patterns ------------------------------------------------------------------
    def pattern(self, value: Any, line: int, what: str = "pattern") -> Pattern:
        """A tag string, or a mapping of ``PATTERN_KEYS``."""
        if isinstance(value, str):
            return Pattern(tag=self._tag(value, "fnmatch", line, what), line=line)
        if not isinstance(value, YMap):
            self.fail(
                line,
                f"{what} must be a tag string or a mapping with tag/data, not "
                f"{describe_type(value)}",
            )
        self.only_keys(value, PATTERN_KEYS, what)
        match = value.get("match", "fnmatch")
        if match not in MATCH_TYPES:
            self.fail(value.line_of("match"), f"match must be one of {', '.join(MATCH_TYPES)}")
        tag = self._tag(value.get("tag", "*"), match, value.line_of("tag"), what)
        data = None
        if "data" in value:
            data = self.plain_mapping(value["data"], value.line_of("data"), f"{what} data")
        exact = self.boolean(value.get("exact", False), value.line_of("exact"), "exact")
        capture: list[tuple[str, str]] = []
        if "capture" in value:
            raw = self.mapping(value["capture"], value.line_of("capture"), "capture")
            for name, path in raw.items():
                capture.append(self._capture(name, path, raw.line_of(name)))
        return Pattern(tag, match, data, exact, tuple(capture), line)

    def _tag(self, tag: Any, match: str, line: int, what: str) -> str:
        text = self.text(tag, line, f"{what} tag")
        if match == "regex":
            try:
                re.compile(PLACEHOLDER.sub("x", text))
            except re.error as exc:
                self.fail(line, f"invalid regex tag {text!r}: {exc}")
        return text

    def _capture(self, name: Any, path: Any, line: int) -> tuple[str, str]:
        if not isinstance(name, str) or not _NAME.match(name):
            self.fail(line, f"capture name {name!r} must be a name like jid or job_1")
        if name in RESERVED_CAPTURES:
            self.fail(line, f"capture name {name!r} is reserved (each_minion sets it)")
        if name in BUILTINS:
            self.fail(line, f"capture name {name!r} is reserved (the run's minion ids)")
        path = self.text(path, line, f"capture {name}")
        if path.startswith("@") and not _TAG_PATH.match(path):
            self.fail(line, f"capture path {path!r}: '@' paths are @tag or @tag.N (a tag segment)")
        if any(not part for part in path.split(".")):
            self.fail(line, f"capture path {path!r} has an empty part")
        return name, path
