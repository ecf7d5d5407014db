"""Event patterns: a tag, an optional payload subset, captures and ``${name}`` references.

``{tag: "salt/job/*/new", data: {fun: test.ping}, capture: {jid: jid}}`` matches an event
whose tag matches the glob and whose payload holds ``fun: test.ping``; it captures the
payload's ``jid`` so later patterns can say ``tag: "salt/job/${jid}/ret/*"``. The rules
are in ``scenarios/README.md``; ``match`` returns the new captures or ``None``, and
``explain`` says in words why an event does not match.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from saltsim.event import Event
from saltsim.scenario._compact import compact, shorten
from saltsim.tags import Matcher, compile_matcher

__all__ = ["ANY", "BUILTINS", "OWN_PREFIX", "Pattern", "builtin_captures"]

ANY = "<any>"  # as a value in `data`: the key must be present, with any value of any type
OWN_PREFIX = "saltsim/"  # saltsim's own events; only patterns whose tag starts so see them
PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
# Names every pattern may use without capturing them: the run's minions.
BUILTINS = ("minions",)
# ``${minions}`` or ``${minions - m2, m3}``: the run's minion ids (but those), sorted; a set
# under the keys Salt fills from sets (``_ID_SETS``).
ID_SET = re.compile(r"\$\{minions(?:\s+-\s+([A-Za-z0-9_.,\s-]+))?\}")
_GLOB_CHARS = frozenset("*?[")
_NO_CAPTURES: Mapping[str, Any] = {}


def _glob_escape(text: str) -> str:
    return "".join(f"[{ch}]" if ch in _GLOB_CHARS else ch for ch in text)


def _is_glob(template: str) -> bool:
    return any(ch in _GLOB_CHARS for ch in PLACEHOLDER.sub("", template))


def substitute(template: str, captures: Mapping[str, Any], escape: Callable[[str], str]) -> str:
    """``template`` with each ``${name}`` replaced by ``escape(str(captures[name]))``."""
    return PLACEHOLDER.sub(lambda m: escape(str(captures[m[1]])), template)


def builtin_captures(minions: tuple[str, ...] | list[str]) -> dict[str, Any]:
    """The values of ``BUILTINS`` in a run of these minions (sorted, as presence lists)."""
    return {"minions": sorted(minions)}


def id_set(match: re.Match[str], captures: Mapping[str, Any]) -> list[str]:
    """The ids an ``ID_SET`` reference names: the run's minions but the excluded ones."""
    excluded = {part.strip() for part in (match[1] or "").split(",")}
    return sorted(m for m in captures.get("minions", []) if m not in excluded)


def placeholders(value: Any) -> set[str]:
    """Every ``${name}`` used in ``value`` (a string, or strings nested in dicts and lists)."""
    if isinstance(value, str):
        return set(PLACEHOLDER.findall(value)) | ({"minions"} if ID_SET.search(value) else set())
    if isinstance(value, dict):
        return set().union(*(placeholders(item) for item in value.values()))
    if isinstance(value, list):
        return set().union(*(placeholders(item) for item in value))
    return set()


def _same(expected: Any, actual: Any) -> bool:
    if isinstance(expected, bool) or isinstance(actual, bool):
        return type(expected) is type(actual) and expected == actual
    return bool(expected == actual)


def _private(key: Any) -> bool:
    return isinstance(key, str) and key.startswith("_")


# Payload keys that real Salt fills from sets of minion ids (presence, a job's targets), so
# their order is whatever the set iteration gives; saltsim sorts them. Compared as sets
# when both sides are plain ids (no globs, no captures).
_ID_SETS = frozenset({"present", "new", "lost", "minions", "missing"})


def _plain_ids(value: Any) -> bool:
    return isinstance(value, list) and all(
        isinstance(v, str) and not _is_glob(v) and "${" not in v for v in value
    )


class _DataMatch:
    """Compares a pattern's ``data`` with a payload; the first difference in words."""

    def __init__(self, captures: Mapping[str, Any], exact: bool) -> None:
        self.captures = captures
        self.exact = exact

    def __call__(self, expected: Any, actual: Any, where: str) -> str | None:
        if isinstance(expected, str) and (ids := ID_SET.fullmatch(expected)):
            return self(id_set(ids, self.captures), actual, where)  # a sorted list
        if isinstance(expected, str):
            return self.text(expected, actual, where)
        if isinstance(expected, dict):
            return self.mapping(expected, actual, where)
        if isinstance(expected, list):
            if not isinstance(actual, list | tuple):
                return f"{where}: expected a list, got {compact(actual, 60)}"
            if len(actual) != len(expected):
                return f"{where}: expected {len(expected)} items, got {compact(actual, 60)}"
            for index, (want, got) in enumerate(zip(expected, actual, strict=True)):
                if problem := self(want, got, f"{where}[{index}]"):
                    return problem
            return None
        ok = _same(expected, actual)
        return None if ok else f"{where}: expected {compact(expected)}, got {compact(actual, 60)}"

    def ids(self, expected: list[str], actual: Any, where: str) -> str | None:
        """A set of ids (``${minions}``): any order, no id missing, none extra."""
        if not isinstance(actual, list | tuple) or not all(isinstance(a, str) for a in actual):
            return f"{where}: expected the ids {compact(expected)}, got {compact(actual, 60)}"
        missing = sorted(set(expected) - set(actual))
        extra = sorted(set(actual) - set(expected))
        if not missing and not extra and len(actual) == len(expected):
            return None
        parts = [f"without {compact(missing, 60)}"] if missing else []
        parts += [f"with {compact(extra, 60)} too"] if extra else []
        shown = ", ".join(parts) or "with an id twice"
        return f"{where}: expected {len(expected)} ids, got {len(actual)} {shown}"

    def text(self, expected: str, actual: Any, where: str) -> str | None:
        if expected == ANY:
            return None
        whole = PLACEHOLDER.fullmatch(expected)
        if whole:
            value = self.captures[whole[1]]
            ok = _same(value, actual)
            return None if ok else f"{where}: expected {compact(value)}, got {compact(actual, 60)}"
        glob = _is_glob(expected)
        text = substitute(expected, self.captures, _glob_escape if glob else str)
        ok = isinstance(actual, str) and (
            fnmatch.fnmatchcase(actual, text) if glob else actual == text
        )
        return None if ok else f"{where}: expected {compact(text)}, got {compact(actual, 60)}"

    def mapping(self, expected: dict[Any, Any], actual: Any, where: str) -> str | None:
        if not isinstance(actual, dict):
            return f"{where}: expected a mapping, got {compact(actual, 60)}"
        for key, item in expected.items():
            if key not in actual:
                return f"{where}.{key}: missing"
            got = actual[key]
            if key in _ID_SETS and isinstance(item, str) and (ids := ID_SET.fullmatch(item)):
                if problem := self.ids(id_set(ids, self.captures), got, f"{where}.{key}"):
                    return problem
                continue
            if key in _ID_SETS and _plain_ids(item) and _plain_ids(got):
                item, got = sorted(item), sorted(got)  # sets of ids in Salt: order is chance
            if problem := self(item, got, f"{where}.{key}"):
                return problem
        if self.exact:
            # At the top the payload's private keys (_stamp, _seq) are not part of it.
            top = where == "data"
            extra = [k for k in actual if k not in expected and not (top and _private(k))]
            if extra:
                return f"{where}: unexpected keys {', '.join(map(str, extra))} (exact)"
        return None


def extract(event: Event, path: str) -> tuple[bool, Any]:
    """``(True, value)`` at ``path`` in ``event`` (see the README's capture paths)."""
    parts = path.split(".")
    if parts[0] == "@tag":
        if len(parts) == 1:
            return True, event.tag
        segments = event.tag.split("/")
        try:
            return True, segments[int(parts[1])]
        except (ValueError, IndexError):
            return False, None
    current: Any = event.full
    for part in parts:
        if isinstance(current, dict) and part in current:
            current = current[part]
        elif isinstance(current, dict | list) and re.fullmatch(r"-?\d+", part):
            try:
                current = current[int(part)]
            except (KeyError, IndexError):
                return False, None
        else:
            return False, None
    return True, current


def _wild_regex(pieces: list[str], captures: Mapping[str, Any], match: str) -> str:
    """A regex for a tag whose unknown ``${name}`` parts are wildcards (``sequence`` filters)."""
    out: list[str] = []
    for index, piece in enumerate(pieces):
        if index % 2 == 0:
            out.append(piece if match == "regex" else re.escape(piece))
        elif piece in captures:
            out.append(re.escape(str(captures[piece])))
        else:
            out.append(".*")
    body = "".join(out)
    if match == "endswith":
        return rf"(?s).*(?:{body})\Z"
    if match == "find":
        return rf"(?s).*(?:{body})"
    return f"(?s){body}"


@dataclass(frozen=True)
class Pattern:
    """One event pattern; ``tag`` is a glob unless ``match_type`` names another match type."""

    tag: str = "*"
    match_type: str = "fnmatch"  # `match:` in YAML
    data: dict[Any, Any] | None = None
    exact: bool = False
    capture: tuple[tuple[str, str], ...] = ()  # (name, path) pairs
    line: int = 0

    @property
    def uses(self) -> frozenset[str]:
        """Names this pattern references as ``${name}``."""
        return frozenset(placeholders(self.tag) | placeholders(self.data or {}))

    @property
    def captures(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.capture)

    def missing(self, captures: Mapping[str, Any]) -> list[str]:
        """Referenced names that ``captures`` lacks; match only when this is empty."""
        return sorted(self.uses - captures.keys())

    def tag_matcher(
        self, captures: Mapping[str, Any] = _NO_CAPTURES, wild: bool = False
    ) -> Matcher:
        """A predicate on tags; with ``wild``, references not yet captured match anything."""
        pieces = PLACEHOLDER.split(self.tag)
        if len(pieces) == 1:
            return compile_matcher(self.tag, self.match_type)
        names = set(pieces[1::2])
        if not names <= captures.keys():
            if not wild:
                raise KeyError(sorted(names - captures.keys())[0])
            if self.match_type == "fnmatch":
                glob = PLACEHOLDER.sub(
                    lambda m: _glob_escape(str(captures[m[1]])) if m[1] in captures else "*",
                    self.tag,
                )
                return compile_matcher(glob, "fnmatch")
            return compile_matcher(_wild_regex(pieces, captures, self.match_type), "regex")
        escape: Callable[[str], str] = str
        if self.match_type == "fnmatch":
            escape = _glob_escape
        elif self.match_type == "regex":
            escape = re.escape
        return compile_matcher(substitute(self.tag, captures, escape), self.match_type)

    def sees(self, tag: str) -> bool:
        """Whether events with ``tag`` are visible to this pattern at all (``saltsim/`` rule)."""
        return not tag.startswith(OWN_PREFIX) or self.tag.startswith(OWN_PREFIX)

    def match(
        self, event: Event, captures: Mapping[str, Any] = _NO_CAPTURES
    ) -> dict[str, Any] | None:
        """The captures this match makes (``{}`` if none) or ``None`` when ``event`` differs."""
        captured, _ = self._try(event, captures)
        return captured

    def explain(self, event: Event, captures: Mapping[str, Any] = _NO_CAPTURES) -> str | None:
        """Why ``event`` does not match, in words; ``None`` when it matches."""
        return self._try(event, captures)[1] or None

    def _try(self, event: Event, captures: Mapping[str, Any]) -> tuple[dict[str, Any] | None, str]:
        if not self.sees(event.tag):
            return None, f"{event.tag} is saltsim's own event"
        if not self.tag_matcher(captures)(event.tag):
            return None, f"tag {event.tag} does not match {self.describe_tag(captures)}"
        if self.data is not None or self.exact:
            problem = _DataMatch(captures, self.exact)(self.data or {}, event.full, "data")
            if problem:
                return None, problem
        captured: dict[str, Any] = {}
        for name, path in self.capture:
            found, value = extract(event, path)
            if not found:
                return None, f"capture {name}: the event has no {path}"
            captured[name] = value
        return captured, ""

    def describe_tag(self, captures: Mapping[str, Any] = _NO_CAPTURES) -> str:
        tag = PLACEHOLDER.sub(lambda m: str(captures.get(m[1], m[0])), self.tag)
        return tag if self.match_type == "fnmatch" else f"{tag} ({self.match_type})"

    def describe(self, captures: Mapping[str, Any] = _NO_CAPTURES, limit: int = 0) -> str:
        """One line for reports: ``salt/presence/change {lost: [m2]}``."""
        text = self.describe_tag(captures)
        if self.data is not None:
            data = {k: _show(v, captures) for k, v in self.data.items()}
            text += " " + compact(data)
        if self.exact:
            text += " (exact)"
        if self.capture:
            text += " -> " + ", ".join(f"${{{name}}}={path}" for name, path in self.capture)
        return shorten(text, limit)


def _show(value: Any, captures: Mapping[str, Any]) -> Any:
    if isinstance(value, str) and (ids := ID_SET.fullmatch(value)) and "minions" in captures:
        return id_set(ids, captures)
    if isinstance(value, str):
        whole = PLACEHOLDER.fullmatch(value)
        if whole and whole[1] in captures:
            return captures[whole[1]]
        return PLACEHOLDER.sub(lambda m: str(captures.get(m[1], m[0])), value)
    if isinstance(value, dict):
        return {k: _show(v, captures) for k, v in value.items()}
    if isinstance(value, list):
        return [_show(v, captures) for v in value]
    return value
