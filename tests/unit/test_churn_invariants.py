"""The churn invariants over synthetic recordings: each catches what it must, only that."""

from __future__ import annotations

from typing import Any

from saltsim.bus import BUS_START_TAG
from saltsim.churn.invariants import (
    JobRecord,
    SeqTracker,
    check_auth_acts,
    check_job_returns,
    check_presence_changes,
    check_start_order,
)
from saltsim.churn.model import ChurnModel, Effect, JobPlan
from saltsim.event import Event


class Stream:
    def __init__(self) -> None:
        self.seq = 0
        self.events: list[Event] = []

    def fire(self, tag: str, data: dict[str, Any] | None = None, seq: int | None = None) -> Event:
        self.seq = self.seq + 1 if seq is None else seq
        event = Event.from_data(tag, {**(data or {}), "_seq": self.seq, "_stamp": "x"})
        self.events.append(event)
        return event


def change(new: list[str] | None = None, lost: list[str] | None = None) -> dict[str, Any]:
    return {"new": new or [], "lost": lost or []}


def test_seq_tracker_accepts_a_contiguous_run_and_an_announced_restart() -> None:
    bus = Stream()
    for _ in range(3):
        bus.fire("a")
    bus.fire(BUS_START_TAG, seq=1)
    bus.fire("b")
    tracker = SeqTracker()
    assert tracker.feed(bus.events) == [] and tracker.restarts == 1


def test_seq_tracker_reports_a_gap_and_an_unannounced_reset() -> None:
    bus = Stream()
    bus.fire("a")
    bus.fire("b", seq=3)
    bus.fire("c", seq=1)
    problems = SeqTracker().feed(bus.events)
    assert "1 event(s) never reached the listener" in problems[0]
    assert "without an announced bus restart" in problems[1]


def test_presence_changes_must_match_the_steps_transitions() -> None:
    effect = Effect(lost={"m1"})
    bus = Stream()
    bus.fire("salt/presence/change", change(lost=["m1"]))
    assert check_presence_changes(bus.events, effect) == []
    bus.fire("salt/presence/change", change(new=["m2"]))
    bus.fire("salt/presence/change", change(lost=["m1"]))
    problems = check_presence_changes(bus.events, effect)
    assert any("m2 new, but nothing in this step" in p for p in problems)
    assert any("m1 lost 2 times" in p for p in problems)


def test_presence_change_before_a_restart_is_a_violation() -> None:
    effect = Effect(restart=True, new={"m1"})
    bus = Stream()
    bus.fire("salt/presence/change", change(lost=["m1"]))
    bus.fire(BUS_START_TAG, seq=1)
    bus.fire("salt/presence/change", change(new=["m1"]))
    problems = check_presence_changes(bus.events, effect, restart_at=1)
    assert len(problems) == 1 and "before the master restarted" in problems[0]


def start_events(bus: Stream, minion_id: str) -> None:
    bus.fire("minion_start", {"id": minion_id})
    bus.fire(f"salt/minion/{minion_id}/start", {"id": minion_id})


def test_start_events_need_an_accepted_auth_first_and_come_once() -> None:
    effect = Effect(starts={"m1"})
    good = Stream()
    good.fire("salt/auth", {"id": "m1", "act": "accept", "result": True})
    start_events(good, "m1")
    assert check_start_order(good.events, effect) == []
    early = Stream()
    start_events(early, "m1")
    early.fire("salt/auth", {"id": "m1", "act": "accept", "result": True})
    assert len(check_start_order(early.events, effect)) == 2
    twice = Stream()
    twice.fire("salt/auth", {"id": "m1", "act": "accept", "result": True})
    start_events(twice, "m1")
    start_events(twice, "m1")
    assert any("fired 2 times" in p for p in check_start_order(twice.events, effect))
    stray = Stream()
    start_events(stray, "m2")
    assert any("did not start up" in p for p in check_start_order(stray.events, effect))


def test_auth_answers_follow_the_key_state_on_each_side_of_the_key_event() -> None:
    model = ChurnModel()
    model.add("m1")
    model.start("m1")
    effect = model.accept("m1")
    after = {"m1": "accepted"}
    bus = Stream()
    bus.fire("salt/auth", {"id": "m1", "act": "pend", "result": True})
    bus.fire("salt/key", {"id": "m1", "act": "accepted", "result": True})
    bus.fire("salt/auth", {"id": "m1", "act": "accept", "result": True})
    assert check_auth_acts(bus.events, effect, after) == []
    bus.fire("salt/auth", {"id": "m1", "act": "pend", "result": True})
    problems = check_auth_acts(bus.events, effect, after)
    assert problems == [
        "salt/auth answered 'pend' for m1, whose key is accepted (expected 'accept')"
    ]


def test_a_3006_rejection_without_act_reads_as_reject() -> None:
    bus = Stream()
    bus.fire("salt/auth", {"id": "m1", "result": False})
    assert check_auth_acts(bus.events, Effect(), {"m1": "rejected"}) == []
    assert check_auth_acts(bus.events, Effect(), {"m1": "pending"}) != []


def test_job_returns_only_from_reachable_targets_after_new() -> None:
    plan = JobPlan(("m1", "m2"), ("m1",), ("m2",), frozenset({"m1"}), frozenset({"m1", "m2"}))
    jid = "20261124120000000001"
    bus = Stream()
    bus.fire(f"salt/job/{jid}/ret/m1", {"id": "m1"})
    bus.fire(f"salt/job/{jid}/new", {})
    bus.fire(f"salt/job/{jid}/ret/m2", {"id": "m2"})
    bus.fire(f"salt/job/{jid}/ret/m3", {"id": "m3"})
    bus.fire("salt/job/20261124120000000002/ret/m1", {"id": "m1"})
    jobs = {jid: JobRecord(jid, plan, new_index=11)}
    problems = check_job_returns(bus.events, 10, jobs)
    assert len(problems) == 3
    assert "came before the job's new" in problems[0]
    assert "m3 returned" in problems[1]
    assert "never published" in problems[2]
