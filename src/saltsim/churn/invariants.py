"""The churn invariants, as pure checks over recorded events.

Each check takes the events of one step's window (or the whole recording) and
what the model says, and returns the violations it finds as sentences; an empty
list means the invariant holds. ``machine.py`` runs them after every step.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from saltsim.bus import BUS_START_TAG
from saltsim.churn.model import AUTH_ACTS, Effect, JobPlan
from saltsim.event import Event

__all__ = [
    "JobRecord",
    "SeqTracker",
    "check_auth_acts",
    "check_job_returns",
    "check_presence_changes",
    "check_start_order",
]


class SeqTracker:
    """``_seq`` over the whole recording: +1 from one event to the next, and back to 1
    only at an announced bus restart (``saltsim/bus/start``)."""

    def __init__(self) -> None:
        self.last: int | None = None
        self.restarts = 0
        self.checked = 0

    def feed(self, events: Sequence[Event]) -> list[str]:
        problems = []
        for event in events:
            self.checked += 1
            seq = event.seq
            if seq is None:
                problems.append(f"{event.tag} carries no _seq")
                continue
            if event.tag == BUS_START_TAG and self.last is not None:
                self.restarts += 1
                if seq != 1:
                    problems.append(f"the bus restarted at _seq {seq}, not 1")
            elif self.last is not None and seq != self.last + 1:
                if seq <= self.last:
                    problems.append(
                        f"_seq went back from {self.last} to {seq} ({event.tag}) "
                        "without an announced bus restart"
                    )
                else:
                    problems.append(
                        f"_seq jumped from {self.last} to {seq} before {event.tag}: "
                        f"{seq - self.last - 1} event(s) never reached the listener"
                    )
            self.last = seq
        return problems


def check_presence_changes(
    events: Sequence[Event], effect: Effect, restart_at: int | None = None
) -> list[str]:
    """Every ``new``/``lost`` in the window matches a transition of the model, once.

    ``restart_at``: the window's index of the new bus (a restart step); the old master's
    last ticks before it must not report changes at all."""
    problems = []
    seen_new: Counter[str] = Counter()
    seen_lost: Counter[str] = Counter()
    for index, event in enumerate(events):
        if event.tag != "salt/presence/change":
            continue
        if restart_at is not None and index < restart_at:
            problems.append(
                f"presence changed before the master restarted: {dict(event.data)} "
                "(nothing had changed)"
            )
            continue
        seen_new.update(event.data.get("new") or [])
        seen_lost.update(event.data.get("lost") or [])
    for what, seen, allowed in (("new", seen_new, effect.new), ("lost", seen_lost, effect.lost)):
        for minion_id, count in sorted(seen.items()):
            if minion_id not in allowed:
                problems.append(
                    f"presence reported {minion_id} {what}, but nothing in this step "
                    f"made it {what} (the model expected new={sorted(effect.new)}, "
                    f"lost={sorted(effect.lost)})"
                )
            elif count > 1:
                problems.append(f"presence reported {minion_id} {what} {count} times")
    return problems


def check_start_order(events: Sequence[Event], effect: Effect) -> list[str]:
    """Start events only where the model expects a process to start up, exactly once
    each, and each after that minion's accepted ``salt/auth`` in the same step."""
    problems = []
    accepted: set[str] = set()
    starts: Counter[tuple[str, str]] = Counter()
    for event in events:
        minion_id = event.data.get("id")
        if event.tag == "salt/auth" and event.data.get("act") == "accept":
            accepted.add(str(minion_id))
            continue
        parts = event.tag.split("/")
        if event.tag == "minion_start" or (
            len(parts) == 4 and parts[:2] == ["salt", "minion"] and parts[3] == "start"
        ):
            if event.tag != "minion_start":
                minion_id = parts[2]
            minion_id = str(minion_id)
            kind = "minion_start" if event.tag == "minion_start" else "salt/minion/<id>/start"
            starts[(minion_id, kind)] += 1
            if minion_id not in effect.starts:
                problems.append(f"{event.tag} for {minion_id}, whose process did not start up")
            elif minion_id not in accepted:
                problems.append(f"{event.tag} for {minion_id} came before its accepted salt/auth")
    for (minion_id, kind), count in sorted(starts.items()):
        if count > 1:
            problems.append(f"{kind} fired {count} times for {minion_id} in one start-up")
    return problems


def check_auth_acts(events: Sequence[Event], effect: Effect, after: Mapping[str, str]) -> list[str]:
    """Each ``salt/auth`` answer fits the key's state: before the step's ``salt/key``
    event for that minion, the state before the step; after it (or in a step without key
    events), the state after."""
    problems = []
    keyed: set[str] = set()
    for event in events:
        if event.tag == "salt/key":
            keyed.add(str(event.data.get("id")))
            continue
        if event.tag != "salt/auth":
            continue
        minion_id = str(event.data.get("id"))
        states = after if effect.key_event is None or minion_id in keyed else effect.before
        if minion_id not in states:
            continue  # not a fuzzed minion
        act = event.data.get("act", "reject" if event.data.get("result") is False else None)
        want = AUTH_ACTS[states[minion_id]]
        if act != want:
            problems.append(
                f"salt/auth answered {act!r} for {minion_id}, whose key is "
                f"{states[minion_id]} (expected {want!r})"
            )
    return problems


@dataclass
class JobRecord:
    """A job the machine published: its plan and where its ``new`` event was recorded."""

    jid: str
    plan: JobPlan
    new_index: int  # the recording's index of salt/job/<jid>/new


def check_job_returns(
    events: Sequence[Event], offset: int, jobs: Mapping[str, JobRecord]
) -> list[str]:
    """Each return comes from a targeted minion that could receive the job, after the
    job's ``new``. ``offset``: the recording index of ``events[0]``."""
    problems = []
    for index, event in enumerate(events, start=offset):
        parts = event.tag.split("/")
        if len(parts) != 5 or parts[:2] != ["salt", "job"] or parts[3] != "ret":
            continue
        jid, minion_id = parts[2], parts[4]
        job = jobs.get(jid)
        if job is None:
            problems.append(f"a return for job {jid}, which the fuzzer never published")
        elif minion_id not in job.plan.allowed:
            problems.append(
                f"{minion_id} returned for job {jid}, which it could not have received "
                f"(targets {list(job.plan.targets)}, reachable {sorted(job.plan.allowed)})"
            )
        elif index < job.new_index:
            problems.append(f"{minion_id}'s return for job {jid} came before the job's new")
    return problems
