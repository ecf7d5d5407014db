"""The one-frame wire form: ``tag + b"\\n\\n" + msgpack(data)``.

docs/EVENTS.md, "Every event"."""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from unit_strategies import payloads, tags, typed

from saltsim.errors import FrameError, SaltsimError
from saltsim.wire import (
    SEPARATOR,
    decode_data,
    encode_data,
    pack_frame,
    split_frame,
    tag_length,
    unpack_frame,
)

UTC = dt.UTC


# -- round trip ----------------------------------------------------------------------------


@settings(max_examples=200)
@given(tag=tags, data=payloads)
def test_frame_round_trips_tag_and_payload(tag: str, data: dict[Any, Any]) -> None:
    frame = pack_frame(tag, data)
    assert frame.startswith(tag.encode() + SEPARATOR)
    out_tag, out_data = unpack_frame(frame)
    assert out_tag == tag
    assert typed(out_data) == typed(data)


@given(tag=tags, data=payloads)
def test_split_frame_cuts_exactly_after_the_tag(tag: str, data: dict[Any, Any]) -> None:
    frame = pack_frame(tag, data)
    raw_tag, body = split_frame(frame)
    assert raw_tag == tag.encode()
    assert tag_length(frame) == len(tag.encode())
    assert body == encode_data(data)


def test_tag_ending_in_one_newline_keeps_it() -> None:
    frame = pack_frame("salt/x\n", {"a": 1})
    assert frame == b"salt/x\n\n\n" + msgpack.packb({"a": 1})
    assert unpack_frame(frame) == ("salt/x\n", {"a": 1})


def test_tag_of_a_single_newline_round_trips() -> None:
    assert unpack_frame(pack_frame("\n", {"a": 1})) == ("\n", {"a": 1})


def test_no_tag_length_limit() -> None:
    tag = "salt/" + "x" * 1_000_000
    assert unpack_frame(pack_frame(tag, {})) == (tag, {})


# -- refusals on the way out ---------------------------------------------------------------


def test_frame_error_is_a_value_error_and_a_saltsim_error() -> None:
    assert issubclass(FrameError, ValueError)
    assert issubclass(FrameError, SaltsimError)


@pytest.mark.parametrize(
    "tag",
    ["", "\n\n", "a\n\nb", "salt/job\n\n", "\n\n\n", "\ud800"],
    ids=["empty", "blank-line", "blank-line-inside", "blank-line-at-end", "three-nl", "surrogate"],
)
def test_bad_tag_is_refused(tag: str) -> None:
    with pytest.raises(ValueError):
        pack_frame(tag, {"a": 1})
    with pytest.raises(FrameError):
        pack_frame(tag, {"a": 1})


@pytest.mark.parametrize("tag", [b"salt/x", 5, None, ["salt"]], ids=repr)
def test_non_str_tag_is_refused(tag: Any) -> None:
    with pytest.raises(FrameError, match="must be a str"):
        pack_frame(tag, {"a": 1})


@pytest.mark.parametrize("data", [[], [("a", 1)], "text", None, 5, b"x", ("a", 1)], ids=repr)
def test_non_dict_payload_is_refused(data: Any) -> None:
    with pytest.raises(FrameError, match="must be a dict"):
        pack_frame("salt/x", data)
    with pytest.raises(FrameError):
        encode_data(data)


@pytest.mark.parametrize(
    "data",
    [
        {"a": object()},
        {"a": [1, {"b": object()}]},
        {"a": 2**64},
        {"a": -(2**63) - 1},
        {"a": 1j},
        {object(): 1},
    ],
    ids=["object", "nested-object", "uint64-overflow", "int64-underflow", "complex", "key"],
)
def test_unencodable_payload_is_refused(data: dict[Any, Any]) -> None:
    with pytest.raises(FrameError, match="cannot be encoded"):
        pack_frame("salt/x", data)


# -- encoding hooks ------------------------------------------------------------------------


def test_naive_datetime_uses_salts_ext_type_78() -> None:
    stamp = dt.datetime(2026, 11, 23, 23, 48, 4, 419827)
    raw = msgpack.unpackb(encode_data({"d": stamp}))
    assert raw == {"d": msgpack.ExtType(78, b"20261123T23:48:04.419827")}


@given(st.datetimes(min_value=dt.datetime(1000, 1, 1)))
def test_naive_datetime_round_trips(value: dt.datetime) -> None:
    out = unpack_frame(pack_frame("t", {"d": value}))[1]["d"]
    assert out == value
    assert out.tzinfo is None


@pytest.mark.parametrize("year", [1, 999])
def test_naive_datetime_before_year_1000_round_trips(year: int) -> None:
    value = dt.datetime(year, 1, 2, 3, 4, 5, 6)
    assert unpack_frame(pack_frame("t", {"d": value}))[1]["d"] == value


_zones = st.sampled_from(
    [UTC, dt.timezone(dt.timedelta(hours=2)), dt.timezone(dt.timedelta(hours=-5, minutes=-30))]
)


@given(st.datetimes(dt.datetime(1900, 1, 1), dt.datetime(2200, 1, 1), timezones=_zones))
def test_aware_datetime_round_trips_as_the_same_instant_in_utc(value: dt.datetime) -> None:
    out = unpack_frame(pack_frame("t", {"d": value}))[1]["d"]
    assert out == value
    assert out.utcoffset() == dt.timedelta(0)
    assert out.microsecond == value.microsecond


@given(st.sets(st.integers(-100, 100), max_size=10))
def test_set_and_frozenset_become_lists(items: set[int]) -> None:
    out = unpack_frame(pack_frame("t", {"s": items, "f": frozenset(items)}))[1]
    assert isinstance(out["s"], list)
    assert isinstance(out["f"], list)
    assert sorted(out["s"]) == sorted(out["f"]) == sorted(items)


def test_bytes_stay_bytes_and_text_stays_text() -> None:
    out = unpack_frame(pack_frame("t", {"b": b"\xff\x00", "s": "\xff", "e": b""}))[1]
    assert typed(out) == typed({"b": b"\xff\x00", "s": "\xff", "e": b""})


def test_bytearray_and_memoryview_become_bytes() -> None:
    out = unpack_frame(pack_frame("t", {"a": bytearray(b"ab"), "m": memoryview(b"cd")}))[1]
    assert typed(out) == typed({"a": b"ab", "m": b"cd"})


def test_unknown_ext_type_is_kept_as_ext() -> None:
    body = msgpack.packb({"x": msgpack.ExtType(5, b"raw")})
    assert decode_data(body) == {"x": msgpack.ExtType(5, b"raw")}


# -- refusals on the way in ----------------------------------------------------------------


@pytest.mark.parametrize(
    "frame",
    [
        b"",
        b"salt/x",
        b"salt/x\n" + msgpack.packb({}),
        b"\n\n" + msgpack.packb({}),
        b"\xff\xfe\n\n" + msgpack.packb({}),
        b"t\n\n",
        b"t\n\n" + msgpack.packb([1, 2]),
        b"t\n\n" + msgpack.packb("text"),
        b"t\n\n" + msgpack.packb(None),
        b"t\n\n" + msgpack.packb({}) + b"\x01",
        b"t\n\n\xc1",
        b"t\n\n\x81\xa1a\xa2\xff\xfe",  # str that is not UTF-8
        b"t\n\n\x81\x91\x01\x02",  # list as a map key: unhashable
        b"t\n\n\x81\xa1d\xc7\x05\x4e" + b"bogus",  # Salt datetime ext that does not parse
    ],
    ids=[
        "empty",
        "no-separator",
        "one-newline",
        "empty-tag",
        "tag-not-utf8",
        "no-body",
        "list-body",
        "str-body",
        "nil-body",
        "extra-data",
        "reserved-byte",
        "str-not-utf8",
        "unhashable-key",
        "bad-ext-78",
    ],
)
def test_malformed_frame_raises_frame_error(frame: bytes) -> None:
    with pytest.raises(FrameError):
        unpack_frame(frame)


def test_same_bytes_as_bin_are_a_valid_event() -> None:
    # Control for "str-not-utf8" above: only the str type makes those bytes invalid.
    assert unpack_frame(b"t\n\n\x81\xa1a\xc4\x02\xff\xfe") == ("t", {"a": b"\xff\xfe"})


@given(tag=tags, data=payloads.filter(bool), data_=st.data())
def test_truncated_body_raises_frame_error(
    tag: str, data: dict[Any, Any], data_: st.DataObject
) -> None:
    frame = pack_frame(tag, data)
    body_start = len(frame) - len(encode_data(data))
    cut = data_.draw(st.integers(body_start, len(frame) - 1), label="cut")
    with pytest.raises(FrameError):
        unpack_frame(frame[:cut])


@settings(max_examples=200)
@given(st.binary(max_size=64))
def test_random_bytes_raise_only_frame_error(frame: bytes) -> None:
    try:
        tag, data = unpack_frame(frame)
    except FrameError:
        return
    assert isinstance(tag, str)
    assert isinstance(data, dict)


@given(body=st.binary(max_size=48))
def test_random_body_after_a_good_tag_raises_only_frame_error(body: bytes) -> None:
    try:
        decode_data(body)
        unpack_frame(b"salt/x\n\n" + body)
    except FrameError:
        pass


def test_out_of_range_timestamp_raises_frame_error() -> None:
    seconds = (2**62).to_bytes(8, "big")
    body = b"\x81\xa1d" + b"\xc7\x0c\xff" + (0).to_bytes(4, "big") + seconds
    with pytest.raises(FrameError):
        unpack_frame(b"salt/x\n\n" + body)
