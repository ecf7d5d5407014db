"""Salt's ``nested`` outputter, enough to read like ``salt`` and ``salt-run`` output, and the
``--out json`` form; both print any return a minion can send (bytes map keys, deep nesting)."""

from __future__ import annotations

from typing import Any

from saltsim import safejson

__all__ = ["as_json", "nested", "render"]

# Past this depth the rest of a value is summarised; it keeps a hostile return's printing
# well inside Python's recursion limit.
_MAX_DEPTH = safejson.MAX_DEPTH


def _lines(value: Any, indent: int, depth: int = 0) -> list[str]:
    pad = " " * indent
    if isinstance(value, dict | list | tuple) and depth >= _MAX_DEPTH:
        return [f"{pad}<nested deeper than {_MAX_DEPTH} levels>"]
    if isinstance(value, dict):
        if not value:
            return [f"{pad}----------"]
        out = [f"{pad}----------"]
        for key, item in value.items():
            out.append(f"{pad}{key}:")
            out.extend(_lines(item, indent + 4, depth + 1))
        return out
    if isinstance(value, list | tuple):
        out = []
        for item in value:
            if isinstance(item, dict | list | tuple):
                out.append(f"{pad}-")
                out.extend(_lines(item, indent + 4, depth + 1))
            else:
                out.append(f"{pad}- {item}")
        return out
    text = str(value)
    return [f"{pad}{line}" for line in text.splitlines()] or [pad]


def nested(value: Any, indent: int = 0) -> str:
    """``{"web1": True}`` → ``web1:\\n    True``, as Salt prints returns."""
    if isinstance(value, dict):
        out: list[str] = []
        for key, item in value.items():
            out.append(f"{' ' * indent}{key}:")
            out.extend(_lines(item, indent + 4, 1))
        return "\n".join(out)
    return "\n".join(_lines(value, indent))


def as_json(value: Any) -> str:
    """Indented JSON with sorted keys; a bytes or integer key does not end the print."""
    return safejson.dumps(value, indent=4, sort_keys=True, other=repr)[0]


def render(value: Any, out: str) -> str:
    """The CLI's ``--out``: ``json`` or ``nested`` (the default)."""
    return as_json(value) if out == "json" else nested(value)
