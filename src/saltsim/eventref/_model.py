"""The event reference as typed values, read from its YAML file (docs/events.yaml).

A reference is sections of entries; an entry is a tag pattern with the payload forms it
comes with, per dialect. A malformed file is a ``EventReferenceError`` naming the entry and
what is wrong, so a typo in the reference cannot pass as "nothing to check".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from saltsim.errors import SaltsimError

__all__ = ["DIALECTS", "ORIGINS", "Entry", "EventReferenceError", "Form", "Item", "Reference"]

DIALECTS = ("3008", "3006")
ORIGINS = ("salt", "saltsim", "client")
ANY_PAYLOAD = "any"
_PLACEHOLDER = re.compile(r"<([A-Za-z_.]+)>")
_UNSET = object()


class EventReferenceError(SaltsimError, ValueError):
    """The reference file cannot be read as a reference."""


@dataclass(frozen=True)
class Item:
    """One payload key and, when ``value`` is set, what its value must be."""

    key: str
    value: Any = _UNSET

    @property
    def fixed(self) -> bool:
        return self.value is not _UNSET


@dataclass(frozen=True)
class Form:
    """One payload an entry comes with: ``items`` (``None``: any keys), ``optional`` keys."""

    items: tuple[Item, ...] | None
    optional: tuple[Item, ...] = ()
    dialects: tuple[str, ...] = DIALECTS
    when: str = ""
    salt: str = ""  # where Salt's payload differs


@dataclass(frozen=True)
class Entry:
    """A tag pattern, who fires it, and its forms; ``unchecked`` says why no test makes it."""

    section: str
    tag: str
    pattern: re.Pattern[str]
    origin: str
    forms: tuple[Form, ...]
    unchecked: str = ""

    @property
    def specificity(self) -> int:
        """Literal characters in the pattern: the more, the more specific."""
        return len(_PLACEHOLDER.sub("", self.tag))

    def label(self, form: Form) -> str:
        return f"{self.tag} ({form.when})" if form.when else self.tag


@dataclass(frozen=True)
class Reference:
    """Every entry, in the file's order, and the keys every event carries."""

    common: tuple[str, ...]
    entries: tuple[Entry, ...]

    @property
    def sections(self) -> list[str]:
        return list(dict.fromkeys(entry.section for entry in self.entries))

    @classmethod
    def read(cls, path: Path) -> Reference:
        return cls.parse(path.read_text(encoding="utf-8"), str(path))

    @classmethod
    def parse(cls, text: str, source: str = "<reference>") -> Reference:
        doc = yaml.safe_load(text)
        if not isinstance(doc, dict) or not isinstance(doc.get("sections"), dict):
            raise EventReferenceError(f"{source}: a map with `sections` expected")
        places = doc.get("placeholders", {})
        if not isinstance(places, dict):
            raise EventReferenceError(f"{source}: placeholders must be a map of name: regex")
        entries = []
        for section, listed in doc["sections"].items():
            if not isinstance(listed, list):
                raise EventReferenceError(
                    f"{source}: section {section!r} must be a list of entries"
                )
            for raw in listed:
                entries.append(_entry(str(section), raw, places, source))
        return cls(tuple(str(k) for k in doc.get("common", [])), tuple(entries))


def _pattern(tag: str, places: dict[str, str], where: str) -> re.Pattern[str]:
    parts, last = [], 0
    for found in _PLACEHOLDER.finditer(tag):
        name = found.group(1)
        if name not in places:
            raise EventReferenceError(f"{where}: placeholder <{name}> is not in `placeholders`")
        parts += [re.escape(tag[last : found.start()]), f"(?:{places[name]})"]
        last = found.end()
    parts.append(re.escape(tag[last:]))
    return re.compile("".join(parts))


def _entry(section: str, raw: Any, places: dict[str, str], source: str) -> Entry:
    if not isinstance(raw, dict) or not isinstance(raw.get("tag"), str):
        raise EventReferenceError(f"{source}: an entry of {section!r} without a tag: {raw!r}")
    where = f"{source}: {raw['tag']!r}"
    origin = raw.get("origin", "salt")
    if origin not in ORIGINS:
        raise EventReferenceError(f"{where}: origin must be one of {', '.join(ORIGINS)}")
    forms = raw.get("forms")
    if not isinstance(forms, list) or not forms:
        raise EventReferenceError(f"{where}: needs forms (a list of payloads)")
    return Entry(
        section=section,
        tag=raw["tag"],
        pattern=_pattern(raw["tag"], places, where),
        origin=origin,
        forms=tuple(_form(form, where) for form in forms),
        unchecked=str(raw.get("unchecked", "")).strip(),
    )


def _form(raw: Any, where: str) -> Form:
    if not isinstance(raw, dict) or "payload" not in raw:
        raise EventReferenceError(f"{where}: a form needs a payload: {raw!r}")
    dialect = raw.get("dialect")
    if dialect is not None and str(dialect) not in DIALECTS:
        raise EventReferenceError(f"{where}: dialect must be one of {', '.join(DIALECTS)}")
    payload = raw["payload"]
    items = None if payload == ANY_PAYLOAD else _items(payload, where)
    return Form(
        items=items,
        optional=_items(raw.get("optional", []), where),
        dialects=(str(dialect),) if dialect is not None else DIALECTS,
        when=str(raw.get("when", "")).strip(),
        salt=str(raw.get("salt", "")).strip(),
    )


def _items(raw: Any, where: str) -> tuple[Item, ...]:
    if not isinstance(raw, list):
        raise EventReferenceError(f"{where}: a payload is a list of keys or `any`, not {raw!r}")
    items: list[Item] = []
    for element in raw:
        if isinstance(element, str):
            items.append(Item(element))
        elif isinstance(element, dict) and len(element) == 1:
            ((key, value),) = element.items()
            items.append(Item(str(key), value))
        else:
            raise EventReferenceError(
                f"{where}: a payload key is `key` or `key: value`: {element!r}"
            )
    keys = [item.key for item in items]
    if len(set(keys)) != len(keys):
        raise EventReferenceError(f"{where}: a key is listed twice in {keys}")
    return tuple(items)
