"""How much a request body may hold, and the check that a parsed body keeps to it.

A body is data for lowstate, a login or a hook event, so it must be what JSON can
say and what the bus (msgpack) can carry: objects with string keys, lists, strings,
numbers within 64 bits, booleans and null; at most ``max_fields`` values, nested at
most ``max_depth`` deep. ``check_tree`` walks iteratively and stops at the first
value past a limit, so its work is bounded by the limits, not by the body.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from saltsim_master.api.errors import BadRequest

if TYPE_CHECKING:
    from saltsim_master.config import MasterConfig

__all__ = ["BodyLimits", "check_tree"]

# msgpack carries integers in [-2**63, 2**64 - 1]; a larger one could not be fired.
_INT_MIN, _INT_MAX = -(1 << 63), (1 << 64) - 1
_SCALARS = (bool, float, type(None))


def _text(value: str) -> None:
    # JSON's \ud800-style escapes (and YAML's) can make lone surrogates, which no
    # UTF-8 writer (the bus, the job cache) can encode: refuse them here, not there.
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise BadRequest("a string in the body holds a lone surrogate (not Unicode)") from None


@dataclass(frozen=True)
class BodyLimits:
    """What one request body may hold and how long it may take to arrive."""

    max_body: int = 1_048_576  # bytes
    max_fields: int = 10_000  # form fields, or values in a JSON/YAML document
    max_depth: int = 64  # nesting of lists and objects
    body_timeout: float = 30.0  # seconds to receive the whole body

    @classmethod
    def of(cls, config: MasterConfig) -> BodyLimits:
        return cls(
            config.api_max_body,
            config.api_max_fields,
            config.api_max_depth,
            config.api_body_timeout,
        )

    def too_many(self, what: str) -> BadRequest:
        return BadRequest(f"the body holds more than {self.max_fields} {what} (api_max_fields)")

    def too_deep(self) -> BadRequest:
        return BadRequest(f"the body nests deeper than {self.max_depth} levels (api_max_depth)")


def check_tree(data: Any, limits: BodyLimits) -> None:
    """``BadRequest`` unless ``data`` is JSON-shaped and within ``limits``."""
    stack: list[tuple[Any, int]] = [(data, 0)]
    seen = 0
    while stack:
        value, depth = stack.pop()
        seen += 1
        if seen > limits.max_fields:
            raise limits.too_many("values")
        if isinstance(value, str):
            _text(value)
        elif isinstance(value, int) and not isinstance(value, bool):
            if not _INT_MIN <= value <= _INT_MAX:
                raise BadRequest("an integer in the body does not fit in 64 bits")
        elif isinstance(value, _SCALARS):
            continue
        elif isinstance(value, list | dict):
            if depth >= limits.max_depth:
                raise limits.too_deep()
            if seen + len(stack) + len(value) > limits.max_fields:
                raise limits.too_many("values")
            if isinstance(value, dict):
                for key in value:
                    if not isinstance(key, str):
                        raise BadRequest("object keys in the body must be strings, as in JSON")
                    _text(key)
                items: Iterable[Any] = value.values()
            else:
                items = value
            stack.extend((item, depth + 1) for item in items)
        else:
            raise BadRequest(
                f"the body holds a {type(value).__name__}: only JSON's types are accepted"
            )
