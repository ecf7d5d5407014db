"""Salt's ``nested`` outputter, enough to read like ``salt`` and ``salt-run`` output."""

from __future__ import annotations

from typing import Any

__all__ = ["nested"]


def _lines(value: Any, indent: int) -> list[str]:
    pad = " " * indent
    if isinstance(value, dict):
        if not value:
            return [f"{pad}----------"]
        out = [f"{pad}----------"]
        for key, item in value.items():
            out.append(f"{pad}{key}:")
            out.extend(_lines(item, indent + 4))
        return out
    if isinstance(value, list | tuple):
        out = []
        for item in value:
            if isinstance(item, dict | list | tuple):
                out.append(f"{pad}-")
                out.extend(_lines(item, indent + 4))
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
            out.extend(_lines(item, indent + 4))
        return "\n".join(out)
    return "\n".join(_lines(value, indent))
