"""Authentication and keys on the local backend: pend, accept, reject, denied, full, auto."""

from __future__ import annotations

from typing import Any

import pytest

from saltsim.client import EventClient
from saltsim.deadline import Deadline
from saltsim.testbed.local import LocalTestbed

pytestmark = pytest.mark.functional

FAST_MINION = {"heartbeat_interval": 0.5, "acceptance_wait_time": 0.5, "rejected_wait": 0.1}


@pytest.fixture(scope="module")
def testbed_options() -> dict[str, Any]:
    return {"master_options": {"loop_interval": 1}, "minion_options": FAST_MINION}


def _auth(events: EventClient, minion_id: str, act: str) -> dict[str, object]:
    deadline = Deadline(20)
    while True:
        event = events.wait_for("salt/auth", deadline.remaining())
        if event.data["id"] == minion_id and event.data.get("act") == act:
            return event.data


def test_pending_key_repeats_pend_until_accepted_then_starts(testbed: LocalTestbed) -> None:
    events = testbed.listener()
    testbed.add_minion("web1")
    first = _auth(events, "web1", "pend")
    assert set(first) == {"result", "act", "id", "pub"} and first["result"] is True
    _auth(events, "web1", "pend")  # retried after acceptance_wait_time: one event per _auth
    with testbed.client() as client:
        assert client.key("list")["pending"] == ["web1"]
        assert client.key("accept", "web1") == {"pending": ["web1"]}
    key = events.wait_for("salt/key", 20).data
    assert key == {"result": True, "act": "accepted", "id": "web1", "pub": first["pub"]}
    accept = _auth(events, "web1", "accept")
    assert accept["pub"] == first["pub"]
    events.wait_for("salt/minion/web1/start", 20)
    assert events.lost == 0


def test_rejected_minion_gives_up(testbed: LocalTestbed) -> None:
    events = testbed.listener()
    testbed.add_minion("bad1")
    _auth(events, "bad1", "pend")
    with testbed.client() as client:
        client.key("reject", "bad1")
    assert events.wait_for("salt/key", 20).data["act"] == "rejected"
    reject = _auth(events, "bad1", "reject")
    assert reject["result"] is False
    assert testbed.minion_exit_code("bad1", 20) == 77


def test_same_id_with_another_key_is_denied(testbed: LocalTestbed) -> None:
    events = testbed.listener()
    testbed.add_minion("twin")
    _auth(events, "twin", "pend")
    with testbed.client() as client:
        client.key("accept", "twin")
    events.wait_for("salt/minion/twin/start", 20)
    testbed.add_minion("twin", name="twin-impostor", pki_dir=str(testbed.workdir / "impostor"))
    denied = _auth(events, "twin", "denied")
    assert denied["result"] is False
    assert testbed.minion_exit_code("twin-impostor", 20) == 77
    with testbed.client() as client:
        keys = client.key("list")
    assert keys["accepted"] == ["twin"] and keys["denied"] == ["twin"]


@pytest.mark.testbed_options(
    master_options={"auto_accept": True, "max_minions": 1}, minion_options=FAST_MINION
)
def test_auto_accept_fires_no_key_event_and_full_refuses_beyond_max(
    testbed: LocalTestbed,
) -> None:
    events = testbed.listener()
    events.subscribe("salt/key")
    # As Salt 3008: full only once more than max_minions are connected, so with a
    # limit of 1 a second minion still gets in and the third is refused.
    testbed.add_minion("one")
    events.wait_for("salt/minion/one/start", 20)
    testbed.add_minion("two")
    events.wait_for("salt/minion/two/start", 20)
    testbed.add_minion("three")
    full = _auth(events, "three", "full")
    assert full["result"] is False
    _auth(events, "three", "full")  # a full master is retried, not given up on
    assert [e.tag for e in events.collect() if e.tag == "salt/key"] == []


@pytest.mark.testbed_options(dialect="3006", minion_options=FAST_MINION)
def test_3006_reject_has_no_act(testbed: LocalTestbed) -> None:
    events = testbed.listener()
    testbed.add_minion("old")
    events.wait_for("salt/auth", 20)
    with testbed.client() as client:
        client.key("reject", "old")
    assert events.wait_for("salt/key", 20).data == {
        "result": True,
        "act": "reject",
        "id": "old",
    }
    deadline = Deadline(20)
    while True:
        event = events.wait_for("salt/auth", deadline.remaining())
        if event.data["result"] is False:
            break
    assert set(event.data) == {"result", "id", "pub"}
    assert event.stamp is not None and not event.stamp.endswith("+00:00")
