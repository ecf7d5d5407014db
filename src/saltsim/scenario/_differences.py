"""Reading ``differences:`` (what ``scenario diff`` may find, and why) and the
``only:`` / ``not_on:`` / ``why:`` limits of an expectation."""

from __future__ import annotations

from typing import Any

from saltsim.scenario._backends import IMPLEMENTATIONS
from saltsim.scenario._parse import Reader
from saltsim.scenario.spec import Difference

__all__ = ["DIFFERENCE_KINDS", "parse_differences", "parse_implementations"]

DIFFERENCE_KINDS = ("sequence", "order", "payload")


def parse_differences(reader: Reader, value: Any, line: int) -> tuple[Difference, ...]:
    """``[{tag: GLOB, kind: sequence|order|payload, why: TEXT}, ...]`` (``kind`` optional)."""
    items = reader.listing(value, line, "differences")
    found: list[Difference] = []
    for index, item in enumerate(items):
        where = items.line_of(index)
        mapping = reader.mapping(item, where, f"difference {index + 1}")
        reader.only_keys(mapping, ("tag", "kind", "why"), "a difference")
        for required in ("tag", "why"):
            if required not in mapping:
                reader.fail(where, f"a difference needs {required}: (every one says why)")
        kind = None
        if "kind" in mapping:
            kind = reader.text(mapping["kind"], mapping.line_of("kind"), "difference kind")
            if kind not in DIFFERENCE_KINDS:
                reader.fail(
                    mapping.line_of("kind"),
                    f"difference kind must be one of {', '.join(DIFFERENCE_KINDS)}, not {kind!r}",
                )
        tag = reader.text(mapping["tag"], mapping.line_of("tag"), "difference tag")
        why = reader.text(mapping["why"], mapping.line_of("why"), "difference why")
        found.append(Difference(tag, kind, why, where))
    return tuple(found)


def parse_implementations(reader: Reader, mapping: Any) -> tuple[tuple[str, ...] | None, str]:
    """An expectation's ``only: [saltsim]`` or ``not_on: [salt]`` (with ``why:``): the
    implementations it holds on (``None``: all), and the reason."""
    if "only" not in mapping and "not_on" not in mapping:
        if "why" in mapping:
            reader.fail(mapping.key_line("why"), "why goes with only: or not_on:")
        return None, ""
    if "only" in mapping and "not_on" in mapping:
        reader.fail(mapping.key_line("not_on"), "use only: or not_on:, not both")
    key = "only" if "only" in mapping else "not_on"
    raw = mapping[key]
    names = [raw] if isinstance(raw, str) else reader.listing(raw, mapping.line_of(key), key)
    for name in names:
        if name not in IMPLEMENTATIONS:
            reader.fail(
                mapping.line_of(key),
                f"{key} names implementations ({', '.join(IMPLEMENTATIONS)}), not {name!r}",
            )
    if "why" not in mapping:
        reader.fail(mapping.key_line(key), f"{key}: needs why: (the difference, said in the file)")
    why = reader.text(mapping["why"], mapping.line_of("why"), "why")
    held = tuple(names) if key == "only" else tuple(i for i in IMPLEMENTATIONS if i not in names)
    return held, why
