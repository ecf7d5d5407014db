"""The reference's tables in the page (docs/EVENTS.md), between markers.

Each section's table sits between ``<!-- events: NAME -->`` and ``<!-- /events -->``; the
prose around them is the page's own. ``render_page`` rewrites every table and refuses a
page that lacks a section's marker or names a section the reference does not have.
"""

from __future__ import annotations

import json
import re
from typing import Any

from saltsim.eventref._model import DIALECTS, Entry, EventReferenceError, Form, Item, Reference

__all__ = ["render_page", "render_section"]

_BLOCK = re.compile(r"(<!-- events: ([\w-]+) -->\n)(.*?)(<!-- /events -->)", re.DOTALL)
_TYPE = re.compile(r"<(?:int|str|bool|list|map)>")  # the checker's types
_ORIGIN = {"saltsim": "saltsim only", "client": "as Salt"}


def _value(value: Any) -> str:
    if isinstance(value, list):
        return " or ".join(_value(choice) for choice in value)
    if isinstance(value, str) and _TYPE.fullmatch(value):
        return value
    return json.dumps(value, ensure_ascii=False)


def _item(item: Item) -> str:
    key = json.dumps(item.key, ensure_ascii=False)
    return f"{key}: {_value(item.value)}" if item.fixed else key


def payload_text(form: Form) -> str:
    """``{"result": true, "act": "pend", "id", "pub"}``, as the page writes payloads."""
    if form.items is None:
        return "the firer's own"
    text = ", ".join(_item(item) for item in form.items)
    if form.optional:
        extra = ", ".join(_item(item) for item in form.optional)
        text = f"{text}[, {extra}]" if text else f"[{extra}]"
    return "`{" + text + "}`"


def _cell(text: str) -> str:
    return " ".join(text.replace("|", "\\|").split())


def _dialect(form: Form) -> str:
    return "both" if set(form.dialects) == set(DIALECTS) else " ".join(form.dialects)


def _salt(entry: Entry, form: Form) -> str:
    if form.salt:
        return f"differs: {form.salt}"
    return _ORIGIN.get(entry.origin, "as Salt")


def render_section(reference: Reference, section: str) -> str:
    """The markdown table of one section: a row per form."""
    rows = ["| tag | dialect | payload | when | Salt |", "|---|---|---|---|---|"]
    for entry in reference.entries:
        if entry.section != section:
            continue
        for form in entry.forms:
            when = form.when + (
                f" (not produced by the tests: {entry.unchecked})" if entry.unchecked else ""
            )
            cells = [f"`{entry.tag}`", _dialect(form), payload_text(form), when, _salt(entry, form)]
            rows.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return "\n".join(rows) + "\n"


def render_page(reference: Reference, page: str) -> str:
    """``page`` with every section's table written from ``reference``."""
    named = [found.group(2) for found in _BLOCK.finditer(page)]
    unknown = sorted(set(named) - set(reference.sections))
    missing = [s for s in reference.sections if s not in named]
    if unknown or missing:
        raise EventReferenceError(
            f"the page's markers do not match the reference's sections: unknown {unknown}, "
            f"no marker for {missing} (add `<!-- events: NAME -->` ... `<!-- /events -->`)"
        )
    return _BLOCK.sub(
        lambda found: found.group(1) + render_section(reference, found.group(2)) + found.group(4),
        page,
    )
