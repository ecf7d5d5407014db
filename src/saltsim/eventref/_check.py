"""Events checked against the reference: each (tag, payload) must fit an entry's form.

``ReferenceChecker.check`` takes one event (its tag, its full payload, the dialect) and
returns the problems, each naming the tag, the dialect and the key; it counts which
(entry, form, dialect) each event fitted, so ``unseen`` lists the reference's promises
no event kept. Events a client fired (a scenario's ``fire``) are named by the caller:
only they may fit a ``client`` entry, whose payload is the client's.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from saltsim.eventref._model import DIALECTS, Entry, Form, Item, Reference

__all__ = ["Coverage", "ReferenceChecker"]

_TYPES: dict[str, tuple[type, ...]] = {
    "<int>": (int,),
    "<str>": (str,),
    "<bool>": (bool,),
    "<list>": (list,),
    "<map>": (dict,),
}
_TEXT_PART = re.compile(r"<[^<>]+>")

Coverage = tuple[str, int, str]  # (entry tag, form index, dialect)


def value_fits(expected: Any, actual: Any) -> bool:
    """The reference's value notation (docs/events.yaml's header) against a value."""
    if isinstance(expected, list):
        return any(value_fits(choice, actual) for choice in expected)
    if isinstance(expected, str) and expected in _TYPES:
        wanted = _TYPES[expected]
        return isinstance(actual, wanted) and not (bool not in wanted and isinstance(actual, bool))
    if isinstance(expected, str) and _TEXT_PART.search(expected):
        parts = _TEXT_PART.split(expected)
        return isinstance(actual, str) and bool(
            re.fullmatch(".*".join(re.escape(p) for p in parts), actual, re.DOTALL)
        )
    return type(expected) is type(actual) and bool(expected == actual)


def form_problems(form: Form, payload: dict[Any, Any]) -> list[str]:
    """What keeps ``payload`` (without the common keys) from fitting ``form``."""
    if form.items is None:
        return []
    problems = []
    allowed: dict[str, Item] = {item.key: item for item in (*form.items, *form.optional)}
    for item in form.items:
        if item.key not in payload:
            problems.append(f"missing key {item.key!r}")
    for key, value in payload.items():
        known = allowed.get(key) if isinstance(key, str) else None
        if known is None:
            problems.append(f"extra key {key!r}")
        elif known.fixed and not value_fits(known.value, value):
            problems.append(f"key {key!r} is {value!r}, the reference says {known.value!r}")
    return problems


@dataclass
class ReferenceChecker:
    """Checks events against ``reference`` and remembers which forms they fitted."""

    reference: Reference
    seen: dict[Coverage, int] = field(default_factory=dict)
    checked: int = 0

    def _candidates(self, tag: str, client: bool) -> list[Entry]:
        found = [
            entry
            for entry in self.reference.entries
            if not entry.unchecked
            and (entry.origin != "client" or client)
            and entry.pattern.fullmatch(tag)
        ]
        return sorted(found, key=lambda entry: -entry.specificity)

    def check(
        self, tag: str, full: dict[Any, Any], dialect: str, client_tags: Collection[str] = ()
    ) -> list[str]:
        """Problems of one event (empty: it fits), each naming tag, dialect and key."""
        self.checked += 1
        where = f"tag {tag!r} (dialect {dialect})"
        problems = [f"{where}: missing key {k!r}" for k in self.reference.common if k not in full]
        payload = {k: v for k, v in full.items() if k not in self.reference.common}
        candidates = self._candidates(tag, tag in client_tags)
        misfits: list[tuple[Entry, Form, list[str]]] = []
        for entry in candidates:
            for index, form in enumerate(entry.forms):
                if dialect not in form.dialects:
                    continue
                found = form_problems(form, payload)
                if not found:
                    key = (entry.tag, index, dialect)
                    self.seen[key] = self.seen.get(key, 0) + 1
                    return problems
                misfits.append((entry, form, found))
        return [*problems, f"{where}: {self._why(candidates, misfits)}"]

    @staticmethod
    def _why(candidates: list[Entry], misfits: list[tuple[Entry, Form, list[str]]]) -> str:
        """Why nothing fitted: the closest form of the most specific entries."""
        specific = [m for m in misfits if m[0].specificity > 0]
        closest = min(specific or misfits, key=lambda m: len(m[2]), default=None)
        beside = ""
        if closest is not None:
            entry, form, found = closest
            beside = f"closest is {entry.label(form)!r}: {'; '.join(found)}"
        if not any(entry.specificity > 0 for entry in candidates):  # only catch-alls: <tag>
            return "unknown tag, no entry of the reference matches it" + (
                f" ({beside})" if beside else ""
            )
        if not specific:
            return "the reference has no form of it in this dialect"
        return f"fits no form of the reference; {beside}"

    def unseen(self, dialects: Collection[str] = DIALECTS) -> list[str]:
        """Each (entry, form, dialect) no checked event fitted, unless it is ``unchecked``."""
        missing = []
        for entry in self.reference.entries:
            if entry.unchecked:
                continue
            for index, form in enumerate(entry.forms):
                for dialect in form.dialects:
                    if dialect in dialects and (entry.tag, index, dialect) not in self.seen:
                        missing.append(f"{entry.label(form)} (dialect {dialect})")
        return missing
