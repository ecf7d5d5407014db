"""Any msgpack value as JSON text, without ever raising: the form printers and streams use.

A payload off the bus may hold what JSON cannot: bytes or integer map keys beside text
ones, ``ExtType`` and ``Timestamp`` values, nesting deeper than ``json`` recurses (a
minion's ``event.send`` can carry ~1,000 levels). ``jsonable`` makes it safe: text keys
(a non-text key becomes its ``repr``, so ``b"k"`` shows as ``"b'k'"`` and never merges
with ``"k"``), bytes decoded as UTF-8 with replacement, other values through ``other``,
and anything deeper than ``max_depth`` replaced by a note. ``dumps`` tries the plain,
fast ``json.dumps`` first and falls back to the safe form only when that fails.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

__all__ = ["MAX_DEPTH", "dumps", "jsonable"]

# Deeper than any real Salt return (a highstate is ~6 levels) and well inside Python's
# recursion limit, with room for the callers' own frames.
MAX_DEPTH = 100
_NATIVE_KEYS = (str, int, float, bool, type(None))


def _key(key: Any) -> str:
    if isinstance(key, str):
        return key
    if isinstance(key, _NATIVE_KEYS):
        return json.dumps(key)  # what json would have made of it: 1 -> "1", None -> "null"
    return repr(key)


def _decode_bytes(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def jsonable(
    value: Any, *, max_depth: int = MAX_DEPTH, other: Callable[[Any], Any] = _decode_bytes
) -> Any:
    """``value`` with only JSON types: text keys, bounded depth; never raises."""
    if isinstance(value, str | bool | int | float | type(None)):
        return value
    if isinstance(value, dict | list | tuple):
        if max_depth <= 0:
            return f"<nested deeper than {MAX_DEPTH} levels>"
        if isinstance(value, dict):
            return {
                _key(k): jsonable(v, max_depth=max_depth - 1, other=other) for k, v in value.items()
            }
        return [jsonable(item, max_depth=max_depth - 1, other=other) for item in value]
    try:
        made = other(value)
    except Exception:  # a value whose str() or repr() raises: still say what it was
        return f"<unprintable {type(value).__name__}>"
    return made if isinstance(made, str | bool | int | float | type(None)) else repr(made)


def dumps(
    value: Any, *, other: Callable[[Any], Any] = _decode_bytes, **options: Any
) -> tuple[str, bool]:
    """``(text, made_safe)``: plain ``json.dumps`` when it can; else the ``jsonable`` form."""
    try:
        return json.dumps(value, default=other, **options), False
    except Exception:  # TypeError (a bytes key), RecursionError (deep), a default that raised
        return json.dumps(jsonable(value, other=other), **options), True
