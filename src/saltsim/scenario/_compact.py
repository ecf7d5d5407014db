"""Short, YAML-flow-like renderings of payloads for reports: ``{lost: [m2], new: []}``."""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = ["compact", "shorten"]

_BARE = re.compile(r"^[A-Za-z0-9_./:@$<-][A-Za-z0-9_./:@ *?\[\]!${}<>+-]*$")
_WORDS = {"true", "false", "null", "yes", "no", "on", "off", "~", ""}


def _scalar(value: Any) -> str:
    if isinstance(value, str):
        bare = _BARE.match(value) and value.lower() not in _WORDS and not value.endswith(" ")
        if bare and not _looks_numeric(value):
            return value
        return json.dumps(value, ensure_ascii=False)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    return repr(value)


def _looks_numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def compact(value: Any, limit: int = 0) -> str:
    """``value`` in one line, keys in their own order; cut to ``limit`` characters if > 0."""
    if isinstance(value, dict):
        text = "{" + ", ".join(f"{_scalar(k)}: {compact(v)}" for k, v in value.items()) + "}"
    elif isinstance(value, list | tuple):
        text = "[" + ", ".join(compact(item) for item in value) + "]"
    else:
        text = _scalar(value)
    return shorten(text, limit)


def shorten(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters with a trailing ``…`` (no cut when ``limit`` <= 0)."""
    text = text.replace("\n", "\\n")
    if limit <= 0 or len(text) <= limit:
        return text
    return text[: max(limit - 1, 0)] + "…"
