"""A minion whose key was deleted is quiet until a publication reaches it (as real Salt).

A real minion makes no request of its own between jobs: after `salt-key -d` it learns
nothing until the next publication fails to decrypt (the AES key rotated at the next
tick), and only then does it sign in again and pend. saltsim's heartbeat is an extension
that must not change that: the master answers a deleted minion's heartbeat with "keep
quiet", while a minion whose key is still accepted signs in again after a master restart.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from saltsim.event import Event
from saltsim.recorder import Recorder
from saltsim.testbed.local import LocalTestbed

pytestmark = pytest.mark.functional

FAST = {"heartbeat_interval": 0.2, "acceptance_wait_time": 0.3}


def _auth(minion_id: str, act: str | None = None) -> Callable[[Event], bool]:
    def accept(event: Event) -> bool:
        return (
            event.tag == "salt/auth"
            and event.data.get("id") == minion_id
            and (act is None or event.data.get("act") == act)
        )

    return accept


@pytest.fixture(scope="module")
def testbed_options() -> dict[str, Any]:
    return {
        "master_options": {"presence_events": True, "loop_interval": 0.5},
        "minion_options": FAST,
    }


@pytest.fixture
def bed(testbed: LocalTestbed, recorder: Recorder) -> tuple[LocalTestbed, Recorder]:
    """m1 and m2 accepted and started; m2's key deleted, the AES key rotated since."""
    tb, rec = testbed, recorder
    tb.add_minion("m1")
    tb.add_minion("m2")
    for minion_id in ("m1", "m2"):
        rec.wait_for(_auth(minion_id, "pend"), 30)
    with tb.client() as client:
        client.key("accept", "*")
    both = rec.wait_for(
        lambda e: e.tag == "salt/presence/present" and e.data["present"] == ["m1", "m2"], 30
    )
    mark = rec.events.index(both) + 1
    with tb.client() as client:
        assert client.key("delete", "m2") == {"accepted": ["m2"]}
    rec.wait_for("key", 10, since=mark)
    return tb, rec


def test_the_rotating_tick_fires_presence_first(bed: tuple[LocalTestbed, Recorder]) -> None:
    """Salt's maintenance loop: handle_presence, then handle_key_rotate."""
    _, rec = bed
    key = rec.wait_for("key", 1)
    ticked = [
        e for e in rec.since(0)[: rec.events.index(key) + 1] if not e.tag.startswith("saltsim/")
    ]
    last = [(e.tag, e.data) for e in ticked[-3:]]
    assert last == [
        ("salt/presence/change", {"new": [], "lost": ["m2"]}),
        ("salt/presence/present", {"present": ["m1"]}),
        ("key", {"rotate_aes_key": True}),
    ]


def _ticks(rec: Recorder, since: int, count: int) -> int:
    """Wait for ``count`` presence ticks after ``since``; the index after the last."""
    for _ in range(count):
        since = rec.events.index(rec.wait_for("salt/presence/present", 10, since=since)) + 1
    return since


def test_deleted_minion_is_quiet_until_a_publication_then_pends(
    bed: tuple[LocalTestbed, Recorder],
) -> None:
    tb, rec = bed
    start = rec.mark()
    # Four ticks (2 s): ten heartbeat intervals in which the old minion would have pended.
    end = _ticks(rec, start, 4)
    assert not [e for e in rec.since(start)[: end - start] if _auth("m2")(e)]
    with tb.client() as client:
        assert client.key("list")["pending"] == []
        published = client.publish("m1", "test.ping")
    new = rec.wait_for(f"salt/job/{published['jid']}/new", 10, since=end)
    after = rec.events.index(new)
    # The publication fails to decrypt on both (the AES key rotated): m1 signs in again,
    # m2 signs in and pends, repeatedly, from now on.
    rec.wait_for(_auth("m1", "accept"), 10, since=after)
    first = rec.wait_for(_auth("m2", "pend"), 10, since=after)
    rec.wait_for(_auth("m2", "pend"), 10, since=rec.events.index(first) + 1)
    rec.wait_for(f"salt/job/{published['jid']}/ret/m1", 10, since=after)
    with tb.client() as client:
        assert client.key("list")["pending"] == ["m2"]


def test_master_restart_signs_in_the_accepted_minion_only(
    bed: tuple[LocalTestbed, Recorder],
) -> None:
    tb, rec = bed
    start = rec.mark()
    tb.restart_master()
    restart = rec.wait_restart(start, 30)
    rec.wait_for(_auth("m1", "accept"), 20, since=restart)
    end = _ticks(rec, restart, 4)
    assert not [e for e in rec.since(restart)[: end - restart] if _auth("m2")(e)]
    assert not [e for e in rec.since(restart) if e.tag.endswith("/start") and "m1" in e.tag]
    with tb.client() as client:
        assert client.key("list")["pending"] == []
