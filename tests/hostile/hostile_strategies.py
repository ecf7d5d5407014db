"""Hypothesis strategies for hostile msgpack values: what a minion or client can send.

On top of ``tests/unit/unit_strategies.py``'s msgpack-native values: bytes and integer
map keys beside text ones, nesting up to ~1,000 levels (past what ``json`` recurses),
the largest and smallest ints msgpack carries, NaN and infinities, ``ExtType``,
``Timestamp`` and Salt's datetime extension, and tuples (arrays) as keys, which decode to
unhashable lists.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgpack
from hypothesis import strategies as st

__all__ = ["deep", "hostile_maps", "hostile_values"]

INT64_MIN, UINT64_MAX = -(2**63), 2**64 - 1

_text = st.text(alphabet=st.characters(codec="utf-8"), max_size=12)
_ints = st.one_of(st.integers(INT64_MIN, UINT64_MAX), st.sampled_from([INT64_MIN, UINT64_MAX]))
_keys = st.one_of(
    _text,
    st.binary(max_size=8),  # b"k": what json.dumps refused, ending the master
    _ints,
    st.none(),
    st.booleans(),
    st.floats(allow_nan=False),
)
_scalars = st.one_of(
    st.none(),
    st.booleans(),
    _ints,
    st.floats(),  # NaN and infinities included
    _text,
    st.binary(max_size=16),
    st.builds(msgpack.ExtType, st.integers(0, 127), st.binary(max_size=8)),
    st.builds(msgpack.Timestamp, st.integers(0, 2**32 - 1), st.integers(0, 999_999_999)),
    st.datetimes(min_value=dt.datetime(1000, 1, 1)),  # Salt's datetime extension (78)
)


def _nest(depth: int, inner: Any, key: Any) -> Any:
    value = inner
    for level in range(depth):
        value = {key: value} if level % 2 else [value]
    return value


# ~1,000 levels is what an attacker sent; msgpack still decodes it (its limit is 1,024).
deep: st.SearchStrategy[Any] = st.builds(
    _nest, st.integers(90, 1000), _scalars, st.one_of(_text, st.binary(max_size=4))
)

hostile_values: st.SearchStrategy[Any] = st.recursive(
    st.one_of(_scalars, deep),
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(_keys, children, max_size=4),
    ),
    max_leaves=10,
)

hostile_maps: st.SearchStrategy[dict[Any, Any]] = st.dictionaries(_keys, hostile_values, max_size=6)
