"""The bus's stamping step, ``EventBus._restamp``, without any socket traffic.

An ``EventBus`` creates its sockets in ``__init__`` but binds nothing until ``bind()``,
so constructing one and calling ``_restamp`` directly is pure.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import closing
from typing import Any

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from unit_strategies import payloads, tags, typed

from saltsim.bus import BusStats, EventBus
from saltsim.wire import pack_frame, unpack_frame

STAMP_3008 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$")
STAMP_3006 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$")
ANY = "tcp://127.0.0.1:0"


def make_bus(dialect: str = "3008") -> EventBus:
    return EventBus(ANY, ANY, dialect=dialect)


@pytest.fixture
def bus() -> Iterator[EventBus]:
    with closing(make_bus()) as made:
        yield made


def restamp(bus: EventBus, frame: bytes) -> tuple[str, dict[Any, Any]]:
    out = bus._restamp(frame)
    assert out is not None, bus.stats
    return unpack_frame(out)


def map_size(frame: bytes, tag: str) -> int:
    """Entry count in the raw map header (duplicates included), read with msgpack itself."""
    unpacker = msgpack.Unpacker()
    unpacker.feed(frame[len(tag.encode()) + 2 :])
    return int(unpacker.read_map_header())


# -- good frames ---------------------------------------------------------------------------


@pytest.mark.parametrize("keys", [0, 1, 13, 14, 15, 16, 17, 65533, 65534, 70000])
def test_stamp_and_seq_are_appended_to_maps_of_every_header_size(bus: EventBus, keys: int) -> None:
    data = {f"k{i}": i for i in range(keys)}
    frame = pack_frame("salt/x", data)
    out = bus._restamp(frame)
    assert out is not None
    assert out.startswith(b"salt/x\n\n")
    tag, full = unpack_frame(out)
    assert tag == "salt/x"
    stamp = full.pop("_stamp")
    assert STAMP_3008.match(stamp)
    assert full.pop("_seq") == 1
    assert full == data
    assert map_size(out, tag) == keys + 2
    # The header is msgpack's canonical one for that size (fixmap, map16 or map32).
    assert out[len(b"salt/x\n\n")] == msgpack.packb(full | {"a": 0, "b": 1})[0]


def test_seq_counts_up_from_one(bus: EventBus) -> None:
    seqs = [restamp(bus, pack_frame(f"t/{i}", {"i": i}))[1]["_seq"] for i in range(5)]
    assert seqs == [1, 2, 3, 4, 5]
    assert bus.stats == BusStats(published=5)


def test_existing_stamp_and_seq_are_overwritten_not_duplicated(bus: EventBus) -> None:
    restamp(bus, pack_frame("first", {}))
    frame = pack_frame("salt/x", {"a": 1, "_stamp": "forged", "_seq": 999, "z": [1]})
    out = bus._restamp(frame)
    assert out is not None
    tag, full = unpack_frame(out)
    assert full["_seq"] == 2
    assert STAMP_3008.match(full["_stamp"])
    assert {k: v for k, v in full.items() if k not in ("_stamp", "_seq")} == {"a": 1, "z": [1]}
    assert map_size(out, tag) == 4


@pytest.mark.parametrize("present", [{"_seq": 5}, {"_stamp": "x"}])
def test_only_one_of_the_two_keys_present(bus: EventBus, present: dict[str, Any]) -> None:
    out = bus._restamp(pack_frame("t", {"a": 1} | present))
    assert out is not None
    tag, full = unpack_frame(out)
    assert full["_seq"] == 1
    assert STAMP_3008.match(full["_stamp"])
    assert map_size(out, tag) == 3


@pytest.mark.parametrize("count", [3, 15, 16])
def test_map_with_duplicate_keys_decodes_correctly(bus: EventBus, count: int) -> None:
    # Hand-built: "a" appears twice (last wins), so the map carries one entry more
    # than the decoded dict; the header count must come from the bytes.
    entries = [(b"\xa1a", b"\x01"), (b"\xa1a", b"\x02")]
    entries += [(msgpack.packb(f"k{i}"), msgpack.packb(i)) for i in range(count - 2)]
    header = bytes([0x80 | count]) if count < 16 else b"\xde" + count.to_bytes(2, "big")
    body = header + b"".join(key + value for key, value in entries)
    assert len(msgpack.unpackb(body)) == count - 1  # the duplicate really is there
    tag, full = restamp(bus, b"dup\n\n" + body)
    assert tag == "dup"
    assert full.pop("_seq") == 1
    assert STAMP_3008.match(full.pop("_stamp"))
    assert full == {"a": 2} | {f"k{i}": i for i in range(count - 2)}


def test_duplicate_seq_keys_are_replaced(bus: EventBus) -> None:
    body = b"\x83\xa4_seq\x05\xa4_seq\x06\xa1a\x01"
    out = bus._restamp(b"dup\n\n" + body)
    assert out is not None
    tag, full = unpack_frame(out)
    assert full["_seq"] == 1
    assert full["a"] == 1
    assert map_size(out, tag) == 3


def test_dialect_3006_gives_a_naive_stamp() -> None:
    with closing(make_bus("3006")) as bus:
        full = restamp(bus, pack_frame("t", {}))[1]
        assert STAMP_3006.match(full["_stamp"])
        full = restamp(bus, pack_frame("t", {"_stamp": "old"}))[1]
        assert STAMP_3006.match(full["_stamp"])


def test_tag_ending_in_newline_is_kept(bus: EventBus) -> None:
    tag, full = restamp(bus, pack_frame("salt/x\n", {"a": 1}))
    assert tag == "salt/x\n"
    assert full["a"] == 1


def test_unknown_ext_types_pass_through(bus: EventBus) -> None:
    ext = msgpack.ExtType(78, b"20261123T23:48:04.419827")
    frame = b"t\n\n" + msgpack.packb({"d": ext, "x": msgpack.ExtType(5, b"?")})
    full = restamp(bus, frame)[1]
    assert full["x"] == msgpack.ExtType(5, b"?")
    assert full["d"].isoformat() == "2026-11-23T23:48:04.419827"


@settings(max_examples=150)
@given(tag=tags, data=payloads)
def test_restamp_adds_exactly_stamp_and_seq(tag: str, data: dict[Any, Any]) -> None:
    with closing(make_bus()) as bus:
        restamp(bus, pack_frame("warm/up", {}))
        out = bus._restamp(pack_frame(tag, data))
        assert out is not None
        out_tag, full = unpack_frame(out)
        assert out_tag == tag
        assert STAMP_3008.match(full["_stamp"])
        assert typed(full) == typed(data | {"_stamp": full["_stamp"], "_seq": 2})
        assert map_size(out, tag) == len(full)
        assert bus.stats == BusStats(published=2)


# -- bad frames ----------------------------------------------------------------------------

BAD_FRAMES = [
    (b"", "no tag"),
    (b"salt/x" + msgpack.packb({}), "no tag"),
    (b"salt/x\n" + msgpack.packb({}), "no tag"),
    (b"\n\n" + msgpack.packb({"a": 1}), "no tag"),
    (b"\xff\xfe\n\n" + msgpack.packb({}), "not utf-8"),
    (b"salt/\xc3\n\n" + msgpack.packb({}), "not utf-8"),
    (b"t\n\n", "bad msgpack"),
    (b"t\n\n" + msgpack.packb({"a": [1, 2, 3]})[:-1], "bad msgpack"),
    (b"t\n\n" + msgpack.packb({"a": 1}) + b"\x00", "bad msgpack"),
    (b"t\n\n\xc1", "bad msgpack"),
    (b"t\n\n" + msgpack.packb([1, 2]), "not a map"),
    (b"t\n\n" + msgpack.packb("text"), "not a map"),
    (b"t\n\n" + msgpack.packb(None), "not a map"),
    (b"t\n\n\x05", "not a map"),
    (b"t\n\n\n", "bad msgpack"),  # tag "t\n" and an empty body
]


@pytest.mark.parametrize(("frame", "reason"), BAD_FRAMES, ids=[repr(f[:12]) for f, _ in BAD_FRAMES])
def test_bad_frame_is_dropped_and_counted(
    bus: EventBus, frame: bytes, reason: str, caplog: pytest.LogCaptureFixture
) -> None:
    assert bus._restamp(frame) is None
    assert bus._restamp(frame) is None
    assert bus.stats == BusStats(published=0, bad_frames=2, bad_by_reason={reason: 2})
    assert len([r for r in caplog.records if r.name == "saltsim.bus"]) == 1  # logged once
    # A dropped frame does not use up a _seq.
    assert restamp(bus, pack_frame("ok", {}))[1]["_seq"] == 1


def test_bad_by_reason_adds_up(bus: EventBus) -> None:
    for frame, _ in BAD_FRAMES:
        bus._restamp(frame)
    restamp(bus, pack_frame("ok", {}))
    expected: dict[str, int] = {}
    for _, reason in BAD_FRAMES:
        expected[reason] = expected.get(reason, 0) + 1
    assert bus.stats.bad_by_reason == expected
    assert bus.stats.bad_frames == len(BAD_FRAMES)
    assert bus.stats.published == 1
    assert bus.stats.as_dict() == {
        "published": 1,
        "bad_frames": len(BAD_FRAMES),
        "bad_by_reason": expected,
        "curve_refused": 0,
    }


@pytest.mark.parametrize(
    "body",
    [
        b"\x81\xa1d\xc7\x05\x4ebogus",  # Salt datetime ext 78 that does not parse
        b"\x81\xa1d\xc7\x0c\xff" + bytes(4) + (2**62).to_bytes(8, "big"),  # year > 9999
    ],
    ids=["bad-ext-78", "timestamp-out-of-range"],
)
def test_bus_drops_what_listeners_cannot_decode(bus: EventBus, body: bytes) -> None:
    # Otherwise every listener counts one bad frame *and* one lost _seq for it.
    assert bus._restamp(b"t\n\n" + body) is None
    assert bus.stats.bad_frames == 1


def test_payload_string_that_is_not_utf8_is_dropped(bus: EventBus) -> None:
    # Counted under "not utf-8" today, the same reason as a bad tag; only counting is pinned.
    assert bus._restamp(b"t\n\n\x81\xa1a\xa2\xff\xfe") is None
    assert bus.stats.bad_frames == 1
    assert sum(bus.stats.bad_by_reason.values()) == 1


@settings(max_examples=200)
@given(frame=st.binary(max_size=64))
def test_random_bytes_never_raise(frame: bytes) -> None:
    with closing(make_bus()) as bus:
        out = bus._restamp(frame)
        if out is None:
            assert bus.stats.bad_frames == 1
            assert sum(bus.stats.bad_by_reason.values()) == 1
            assert bus.stats.published == 0
        else:
            assert bus.stats == BusStats(published=1)
            assert out.startswith(frame.split(b"\n\n", 1)[0])
