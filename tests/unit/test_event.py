"""The frozen ``Event`` value object (STYLE.md rule 3)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from hypothesis import given
from unit_strategies import payloads, tags

from saltsim.errors import FrameError
from saltsim.event import Event
from saltsim.wire import pack_frame

STAMP = "2026-11-23T23:48:04.419827+00:00"


def test_private_keys_are_stripped_from_data_but_kept_in_full() -> None:
    full = {"id": "m1", "act": "accept", "_stamp": STAMP, "_seq": 7, "_other": 1, 3: "int key"}
    ev = Event.from_data("salt/auth", full)
    assert ev.tag == "salt/auth"
    assert ev.data == {"id": "m1", "act": "accept", 3: "int key"}
    assert ev.full == full
    assert ev.stamp == STAMP
    assert ev.seq == 7


def test_keys_with_an_inner_underscore_are_public() -> None:
    ev = Event.from_data("t", {"a_b": 1, "__kwarg__": True, "b_": 2})
    assert ev.data == {"a_b": 1, "b_": 2}


def test_missing_stamp_and_seq_are_none() -> None:
    ev = Event.from_data("t", {"a": 1})
    assert ev.stamp is None
    assert ev.seq is None
    assert ev.data == ev.full == {"a": 1}


@pytest.mark.parametrize(
    ("stamp", "seq"),
    [(12.5, "7"), (None, True), (b"2026", 7.0), (["x"], None)],
)
def test_stamp_and_seq_of_the_wrong_type_are_none(stamp: Any, seq: Any) -> None:
    ev = Event.from_data("t", {"_stamp": stamp, "_seq": seq})
    assert ev.stamp is None
    assert ev.seq is None
    assert ev.data == {}
    assert ev.full == {"_stamp": stamp, "_seq": seq}


def test_getitem_gives_salts_full_shape() -> None:
    full = {"id": "m1", "_stamp": STAMP, "_seq": 1}
    ev = Event.from_data("salt/auth", full)
    assert ev["tag"] == "salt/auth"
    assert ev["data"] == full  # Salt's get_event(full=True)["data"] is the whole payload
    assert ev["data"] is ev.full
    assert ev.as_dict() == {"tag": "salt/auth", "data": full}


@pytest.mark.parametrize("key", ["id", "full", "stamp", "seq", "Tag", ""])
def test_getitem_of_other_keys_raises_key_error(key: str) -> None:
    ev = Event.from_data("salt/auth", {"id": "m1"})
    with pytest.raises(KeyError):
        ev[key]


@pytest.mark.parametrize("field", ["tag", "full", "data", "stamp", "seq"])
def test_event_is_frozen(field: str) -> None:
    ev = Event.from_data("t", {"_seq": 1})
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(ev, field, None)
    with pytest.raises((AttributeError, TypeError)):
        ev.extra = 1  # type: ignore[attr-defined]


def test_events_compare_by_value() -> None:
    assert Event.from_data("t", {"a": 1, "_seq": 2}) == Event.from_data("t", {"a": 1, "_seq": 2})
    assert Event.from_data("t", {"a": 1, "_seq": 2}) != Event.from_data("t", {"a": 1, "_seq": 3})


@given(tag=tags, full=payloads)
def test_from_frame_equals_from_data(tag: str, full: dict[Any, Any]) -> None:
    ev = Event.from_frame(pack_frame(tag, full))
    assert ev == Event.from_data(tag, full)
    assert all(not (isinstance(k, str) and k.startswith("_")) for k in ev.data)
    assert {k: v for k, v in full.items() if k not in ev.data} == {
        k: v for k, v in full.items() if isinstance(k, str) and k.startswith("_")
    }


def test_from_frame_raises_frame_error_for_a_bad_frame() -> None:
    with pytest.raises(FrameError):
        Event.from_frame(b"salt/x\n\n\x91\x01")
