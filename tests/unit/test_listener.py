"""``ListenerCore``: frame decoding, ``_seq`` gap accounting and Salt's pending queue."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from saltsim.event import Event
from saltsim.listener import ListenerCore, ListenerCounters
from saltsim.tags import compile_matcher
from saltsim.wire import pack_frame

STAMP = "2026-11-23T23:48:04.419827+00:00"


def frame(tag: str, seq: int | None = None, **data: Any) -> bytes:
    if seq is not None:
        data |= {"_stamp": STAMP, "_seq": seq}
    return pack_frame(tag, data)


def feed(core: ListenerCore, seqs: list[int], tag: str = "salt/x") -> None:
    for seq in seqs:
        assert core.decode(frame(tag, seq)) is not None


def never(tag: str) -> bool:
    return False


# -- decoding and _seq accounting ----------------------------------------------------------


def test_decode_returns_the_event() -> None:
    core = ListenerCore()
    ev = core.decode(frame("salt/auth", 1, id="m1"))
    assert ev == Event.from_data("salt/auth", {"id": "m1", "_stamp": STAMP, "_seq": 1})
    assert core.counters == ListenerCounters(received=1)
    assert core.last_seq == 1


def test_contiguous_seq_loses_nothing() -> None:
    core = ListenerCore()
    feed(core, [1, 2, 3, 4, 5])
    assert core.counters == ListenerCounters(received=5)
    assert core.last_seq == 5


def test_first_event_may_start_anywhere() -> None:
    # A listener that connects late has not lost what came before it.
    core = ListenerCore()
    feed(core, [41, 42])
    assert core.counters.lost == 0


@pytest.mark.parametrize("gap", [1, 2, 9, 1000])
def test_gap_of_k_counts_k_lost(gap: int) -> None:
    core = ListenerCore()
    feed(core, [1, 2, 3 + gap, 4 + gap])
    assert core.counters.lost == gap
    assert core.counters.restarts == 0
    assert core.counters.received == 4


@given(st.lists(st.integers(1, 50), min_size=1, max_size=30))
def test_lost_is_the_sum_of_gaps(steps: list[int]) -> None:
    seqs = [sum(steps[: i + 1]) for i in range(len(steps))]
    core = ListenerCore()
    feed(core, seqs)
    assert core.counters.lost == sum(step - 1 for step in steps[1:])
    assert core.counters.restarts == 0


@pytest.mark.parametrize(("before", "after"), [([1, 2, 3], 1), ([5, 6], 3), ([7], 7), ([2, 9], 4)])
def test_seq_going_backwards_is_a_restart(before: list[int], after: int) -> None:
    core = ListenerCore()
    feed(core, before)
    lost_before = core.counters.lost
    feed(core, [after])
    assert core.counters.restarts == 1
    assert core.counters.lost == lost_before + after - 1
    assert core.last_seq == after
    feed(core, [after + 1])  # and counting goes on from the new incarnation
    assert core.counters.restarts == 1
    assert core.counters.lost == lost_before + after - 1


def test_events_without_seq_are_not_accounted() -> None:
    core = ListenerCore()
    feed(core, [1])
    assert core.decode(frame("salt/x", a=1)) is not None
    feed(core, [2])
    assert core.counters == ListenerCounters(received=3)
    assert core.last_seq == 2


@pytest.mark.parametrize(
    "bad",
    [b"", b"no separator", b"\n\n\x80", b"t\n\n\x91\x01", b"t\n\n\x82\xa1a", b"\xff\n\n\x80"],
)
def test_bad_frames_are_counted_not_raised(bad: bytes, caplog: pytest.LogCaptureFixture) -> None:
    core = ListenerCore()
    feed(core, [1])
    with caplog.at_level(logging.WARNING, logger="saltsim.listener"):
        assert core.decode(bad) is None
        assert core.decode(bad) is None
        assert core.accept(bad, lambda tag: True) is None
    feed(core, [2])
    assert core.counters == ListenerCounters(received=2, bad_frames=3)
    assert core.recent_tags() == ["salt/x", "salt/x"]
    assert len(caplog.records) == 1  # logged once, then only counted


@given(st.binary(max_size=40))
def test_random_bytes_never_raise(bad: bytes) -> None:
    core = ListenerCore()
    ev = core.decode(bad)
    assert core.counters.bad_frames + core.counters.received == 1
    assert (ev is None) == (core.counters.bad_frames == 1)


def test_out_of_range_timestamp_is_counted_not_raised() -> None:
    seconds = (2**62).to_bytes(8, "big")
    bad = b"salt/x\n\n\x81\xa1d\xc7\x0c\xff" + (0).to_bytes(4, "big") + seconds
    core = ListenerCore()
    assert core.decode(bad) is None
    assert core.counters.bad_frames == 1


# -- subscriptions and the pending queue ---------------------------------------------------


def test_matching_event_is_returned_not_kept() -> None:
    core = ListenerCore()
    core.subscribe("salt/")
    ev = core.accept(frame("salt/job/1/new", 1), compile_matcher("salt/job/"))
    assert ev is not None
    assert ev.tag == "salt/job/1/new"
    assert core.pending == 0


def test_without_subscriptions_other_events_are_dropped() -> None:
    core = ListenerCore()
    assert core.accept(frame("salt/auth", 1), compile_matcher("salt/job/")) is None
    assert core.pending == 0
    assert core.counters.dropped_pending == 0  # not kept is not "dropped from pending"


def test_non_matching_event_is_kept_only_if_subscribed() -> None:
    core = ListenerCore()
    core.subscribe("salt/auth")
    core.subscribe("/ret/", "find")
    awaited = compile_matcher("salt/minion/m1/start")
    for i, tag in enumerate(
        ["salt/auth", "salt/key", "salt/job/1/ret/m1", "minion_start", "salt/auth"], 1
    ):
        assert core.accept(frame(tag, i, n=i), awaited) is None
    assert core.pending == 3
    ev = core.accept(frame("salt/minion/m1/start", 6), awaited)
    assert ev is not None
    assert ev.tag == "salt/minion/m1/start"
    # Later waits are served from the queue first, oldest first.
    first = core.take_pending(compile_matcher("salt/auth"))
    assert first is not None
    assert first.data == {"n": 1}
    ret = core.take_pending(compile_matcher("salt/job/", "startswith"))
    assert ret is not None
    assert ret.tag == "salt/job/1/ret/m1"
    second = core.take_pending(compile_matcher(""))
    assert second is not None
    assert second.data == {"n": 5}
    assert core.take_pending(compile_matcher("")) is None
    assert core.pending == 0


def test_take_pending_leaves_non_matching_events_in_order() -> None:
    core = ListenerCore()
    core.subscribe("")
    for i, tag in enumerate(["a/1", "b/1", "a/2", "b/2"], 1):
        core.accept(frame(tag, i), never)
    got = core.take_pending(compile_matcher("b/"))
    assert got is not None
    assert got.tag == "b/1"
    tags = []
    while (ev := core.take_pending(compile_matcher(""))) is not None:
        tags.append(ev.tag)
    assert tags == ["a/1", "a/2", "b/2"]


def test_take_pending_without_a_match_leaves_the_queue() -> None:
    core = ListenerCore()
    core.subscribe("a/")
    core.accept(frame("a/1", 1), never)
    core.unsubscribe("other/")  # unrelated: a/1 is still wanted
    assert core.pending == 1
    assert core.take_pending(compile_matcher("nothing")) is None
    assert core.pending == 1


def test_unsubscribe_drops_events_no_longer_wanted() -> None:
    core = ListenerCore()
    core.subscribe("salt/auth")
    core.subscribe("salt/job/")
    core.subscribe("/m1", "endswith")
    for i, tag in enumerate(["salt/auth", "salt/job/1/new", "salt/job/1/ret/m1", "x/m1"], 1):
        core.accept(frame(tag, i), never)
    assert core.pending == 4
    core.unsubscribe("salt/job/")
    # salt/job/1/ret/m1 is still wanted through the endswith subscription.
    kept = []
    while (ev := core.take_pending(compile_matcher(""))) is not None:
        kept.append(ev.tag)
    assert kept == ["salt/auth", "salt/job/1/ret/m1", "x/m1"]


def test_unsubscribing_everything_empties_the_queue() -> None:
    core = ListenerCore()
    core.subscribe("salt/", None)
    core.accept(frame("salt/auth", 1), never)
    core.unsubscribe("salt/", "startswith")  # None and "startswith" are the same subscription
    assert core.pending == 0
    core.accept(frame("salt/auth", 2), never)
    assert core.pending == 0


def test_subscribing_twice_is_one_subscription() -> None:
    core = ListenerCore()
    core.subscribe("salt/")
    core.subscribe("salt/", "startswith")
    core.unsubscribe("salt/")
    core.accept(frame("salt/auth", 1), never)
    assert core.pending == 0


def test_subscribe_validates_match_type() -> None:
    core = ListenerCore()
    with pytest.raises(ValueError):
        core.subscribe("salt/", "glob")
    with pytest.raises(ValueError):
        core.subscribe("(", "regex")


@pytest.mark.parametrize("pending_max", [1, 3, 10])
def test_pending_queue_is_bounded_and_drops_oldest(pending_max: int) -> None:
    core = ListenerCore(pending_max=pending_max)
    core.subscribe("")
    total = pending_max + 4
    for i in range(1, total + 1):
        assert core.accept(frame(f"t/{i}", i), never) is None
    assert core.pending == pending_max
    assert core.counters.dropped_pending == total - pending_max
    first = core.take_pending(compile_matcher(""))
    assert first is not None
    assert first.tag == f"t/{total - pending_max + 1}"


def test_pending_max_zero_keeps_nothing() -> None:
    core = ListenerCore(pending_max=0)
    core.subscribe("")
    assert core.accept(frame("t/1", 1), never) is None
    assert core.pending == 0
    assert core.counters.dropped_pending == 1


def test_recent_tags_are_the_last_fifty_oldest_first() -> None:
    core = ListenerCore()
    assert core.recent_tags() == []
    for i in range(1, 61):
        core.decode(frame(f"t/{i}", i))
    assert core.recent_tags() == [f"t/{i}" for i in range(11, 61)]
    # A copy: callers may keep or mutate it.
    core.recent_tags().clear()
    assert len(core.recent_tags()) == 50
