"""Presence on the local backend: stop, SIGKILL, SIGSTOP; key delete; master restart."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from saltsim.client import EventClient
from saltsim.deadline import Deadline
from saltsim.errors import EventTimeoutError
from saltsim.event import Event
from saltsim.testbed.local import LocalTestbed

pytestmark = pytest.mark.functional

IDS = ("p1", "p2", "p3")


@pytest.fixture(scope="module")
def testbed_options() -> dict[str, Any]:
    options = {
        "auto_accept": True,
        "presence_events": True,
        "loop_interval": 0.5,
        "heartbeat_timeout": 2.0,
    }
    return {"master_options": options, "minion_options": {"heartbeat_interval": 0.3}}


@pytest.fixture
def bed(testbed: LocalTestbed) -> LocalTestbed:
    """A testbed of the test's own with ``IDS`` present."""
    events = testbed.listener()
    events.subscribe("salt/minion/")
    for minion_id in IDS:
        testbed.add_minion(minion_id)
    _until(events, lambda e: e.tag == "salt/presence/present" and e.data["present"] == sorted(IDS))
    events.close()
    return testbed


def _until(events: EventClient, ok: Callable[[Event], bool], timeout: float = 20) -> Event:
    """The first event ``ok`` accepts, within one deadline."""
    deadline = Deadline(timeout)
    seen: list[str] = []
    while not deadline.expired:
        event = events.next_event(deadline.remaining())
        if event is None:
            break
        if ok(event):
            return event
        seen.append(event.tag)
    raise EventTimeoutError("a matching event", timeout, seen)


def _change(events: EventClient, key: str, minion_id: str) -> Event:
    return _until(events, lambda e: e.tag == "salt/presence/change" and minion_id in e.data[key])


@pytest.mark.parametrize("how", ["stop", "kill", "pause"])
def test_minion_that_goes_away_is_lost_then_new_again(bed: LocalTestbed, how: str) -> None:
    with bed.listener() as events:
        {"stop": bed.stop_minion, "kill": bed.kill_minion, "pause": bed.pause_minion}[how]("p2")
        lost = _change(events, "lost", "p2")
        assert lost.data == {"new": [], "lost": ["p2"]}
        present = events.wait_for("salt/presence/present", 20)
        assert present.seq == lost.seq + 1 if lost.seq is not None else False
        assert present.data == {"present": ["p1", "p3"]}
        if how == "pause":
            bed.unpause_minion("p2")
        else:
            bed.start_minion("p2")
        assert _change(events, "new", "p2").data == {"new": ["p2"], "lost": []}
        assert events.lost == 0


@pytest.mark.testbed_options(
    master_options={"presence_events": True, "loop_interval": 0.5, "heartbeat_timeout": 2.0},
    minion_options={"heartbeat_interval": 0.3, "acceptance_wait_time": 0.3},
)
def test_key_delete_loses_minion_rotates_and_others_reauthenticate(testbed: LocalTestbed) -> None:
    with testbed.listener() as events, testbed.client() as client:
        events.subscribe("salt/")
        for minion_id in IDS:
            testbed.add_minion(minion_id)
        for minion_id in IDS:
            _until(
                events,
                lambda e, m=minion_id: (
                    e.tag == "salt/auth"  # type: ignore[misc]
                    and e.data == {**e.data, "id": m, "act": "pend"}
                ),
            )
        client.key("accept", "p*")
        _until(
            events, lambda e: e.tag == "salt/presence/present" and e.data["present"] == sorted(IDS)
        )
        events.collect()
        assert client.key("delete", "p3") == {"accepted": ["p3"]}
        assert events.wait_for("salt/key", 20).data == {"result": True, "act": "delete", "id": "p3"}
        _change(events, "lost", "p3")
        rotate = _until(events, lambda e: e.tag == "key")  # after the tick's presence
        assert rotate.data == {"rotate_aes_key": True}
        quiet = events.collect()
        assert client.key("list")["pending"] == []  # p3 made no request since the delete
        returns, minions = client.cmd("*", "test.ping", timeout=20)
        assert sorted(returns) == ["p1", "p2"] == sorted(minions)
        seen: list[Event] = []  # everything until the woken p3 signs in, kept

        def woken(event: Event) -> bool:
            seen.append(event)
            return event.tag == "salt/auth" and event.data["id"] == "p3"

        _until(events, woken)
        seen += events.collect()
        keys = client.key("list")
    assert not [e for e in quiet if e.tag == "salt/auth"]
    reauth = {e.data["id"] for e in seen if e.tag == "salt/auth" and e.data["act"] == "accept"}
    assert reauth == {"p1", "p2"}
    assert not any(e.tag.endswith("/start") for e in seen)  # re-auth fires no start events
    assert keys["pending"] == ["p3"]  # the publication woke p3: it signed in again, pending


def test_master_restart_brings_minions_back_without_new_keys(bed: LocalTestbed) -> None:
    bed.restart_master()
    with bed.listener() as events, bed.client() as client:
        events.subscribe("salt/auth")
        _until(
            events,
            lambda e: e.tag == "salt/presence/present" and e.data["present"] == sorted(IDS),
            30,
        )
        seen = events.collect()
        keys = client.key("list")
    assert keys["accepted"] == sorted(IDS) and keys["pending"] == []
    assert all(e.data.get("act") != "pend" for e in seen if e.tag == "salt/auth")
    assert not any(e.tag.endswith("/start") or e.tag == "minion_start" for e in seen)
