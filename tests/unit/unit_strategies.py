"""Hypothesis strategies shared by the unit tests: msgpack-native payloads and event tags."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

__all__ = ["payloads", "tags", "typed", "values"]

# msgpack can carry any int from int64's minimum to uint64's maximum.
INT64_MIN, UINT64_MAX = -(2**63), 2**64 - 1

_text = st.text(alphabet=st.characters(codec="utf-8"), max_size=12)
_ints = st.integers(INT64_MIN, UINT64_MAX)
_keys = st.one_of(_text, _ints, st.sampled_from(["_stamp", "_seq", "_x", "id", ""]))
_scalars = st.one_of(
    st.none(),
    st.booleans(),
    _ints,
    st.floats(allow_nan=False),
    _text,
    st.binary(max_size=12),
)

values: st.SearchStrategy[Any] = st.recursive(
    _scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(_keys, children, max_size=4),
    ),
    max_leaves=12,
)

payloads: st.SearchStrategy[dict[Any, Any]] = st.dictionaries(_keys, values, max_size=8)


def _valid_tag(tag: str) -> bool:
    return bool(tag) and "\n\n" not in tag


# Newlines and slashes are over-represented so tags with a single "\n" inside are common.
_tag_chars = st.one_of(st.sampled_from("ab/\n"), st.characters(codec="utf-8"))
_plain_tags = st.text(alphabet=_tag_chars, min_size=1, max_size=30).filter(_valid_tag)
# A tag may end in exactly one "\n" (the body's first byte is never "\n"). The one-character
# tag "\n" is excluded here: see test_wire.test_tag_of_a_single_newline_round_trips.
_newline_tags = (
    _plain_tags.filter(lambda tag: not tag.endswith("\n"))
    .map(lambda tag: tag + "\n")
    .filter(_valid_tag)
)
tags: st.SearchStrategy[str] = st.one_of(_plain_tags, _newline_tags)


def typed(value: Any) -> Any:
    """``value`` with every leaf tagged by its type, so ``True`` != ``1`` and ``b"a"`` != ``"a"``.

    ``-0.0`` and ``0.0`` stay distinct too (msgpack preserves the sign).
    """
    if isinstance(value, dict):
        return ("dict", sorted((repr(typed(k)), typed(v)) for k, v in value.items()))
    if isinstance(value, list):
        return ("list", [typed(item) for item in value])
    if isinstance(value, float):
        return ("float", repr(value))
    return (type(value).__name__, value)
