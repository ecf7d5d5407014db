"""Holding one example's recording to the model: wait for what a step shows, then check.

After each step the machine hands the step's ``Effect`` to the ``Judge``: it
waits, with one deadline, for the step's ``salt/key`` events, then for every
other event the model expects (after them), the AES rotation and a presence
tick equal to the model; then it runs the invariants (``invariants.py``) over
the step's window and compares ``salt-key -L`` with the model. What it finds is
raised as a ``Violation``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from saltsim.churn.invariants import (
    JobRecord,
    SeqTracker,
    check_auth_acts,
    check_job_returns,
    check_presence_changes,
    check_start_order,
)
from saltsim.churn.model import ChurnModel, Effect
from saltsim.deadline import Deadline
from saltsim.errors import EventTimeoutError
from saltsim.event import Event
from saltsim.recorder import Recorder

__all__ = ["Judge", "Violation", "tag_is"]

KeyLister = Callable[[], dict[str, list[str]]]  # salt-key -L through the master


class Violation(AssertionError):
    """An invariant did not hold after a step."""


def tag_is(tag: str) -> Callable[[Event], bool]:
    def accept(event: Event) -> bool:
        return event.tag == tag

    return accept


class Judge:
    """Holds one example's recording to the model, step by step (see the module
    docstring); every wait of a step shares the step's one deadline."""

    def __init__(self, recorder: Recorder, timeout: float, list_keys: KeyLister) -> None:
        self.recorder = recorder
        self.timeout = timeout  # one step's deadline
        self.list_keys = list_keys
        self.seq = SeqTracker()
        self.jobs: dict[str, JobRecord] = {}
        self.checked = 0  # recording index up to which _seq was checked

    def wait(self, accept: Callable[[Event], bool], since: int, timeout: float, what: str) -> Event:
        try:
            return self.recorder.wait_for(accept, max(timeout, 0.0), since=since, what=what)
        except EventTimeoutError as exc:
            raise Violation(f"the bus never showed {what} within {timeout:.1f} s") from exc

    def index(self, event: Event, since: int) -> int:
        return self.recorder.events.index(event, since)

    def settle(self, effect: Effect, mark: int, model: ChurnModel) -> None:
        """Wait for what the model says the step shows, then check every invariant."""
        left = Deadline(self.timeout).remaining  # one deadline for the whole step
        start, restart_at = mark, None
        if effect.restart:
            try:
                start = self.recorder.wait_restart(mark, left())
            except EventTimeoutError as exc:
                raise Violation("the master restarted; its new bus never announced itself") from exc
            restart_at = start - mark
        # A step's salt/key events first: what they cause comes after them (an auth answer
        # just before a key was deleted must not stand for the one after it).
        for expected in effect.expected:
            if expected.tag == "salt/key":
                found = self.wait(expected.matches, start, left(), expected.describe())
                start = max(start, self.index(found, start) + 1)
        for expected in effect.expected:
            if expected.tag != "salt/key":
                self.wait(expected.matches, start, left(), expected.describe())
        if effect.rotation:
            self.wait(tag_is("key"), start, left(), "the AES rotation (key)")
        present = model.present()
        self.wait(
            lambda e: e.tag == "salt/presence/present" and e.data.get("present") == present,
            start,
            left(),
            f"salt/presence/present {present} (the model's presence)",
        )
        self.check(effect, mark, restart_at, model)

    def check(self, effect: Effect, mark: int, restart_at: int | None, model: ChurnModel) -> None:
        window = self.recorder.since(mark)
        problems = self.gaps()
        if self.seq.restarts != model.restarts:
            problems.append(
                f"the bus announced {self.seq.restarts} restart(s); the master was restarted "
                f"{model.restarts} time(s)"
            )
        keys = {m: s.key for m, s in model.minions.items()}
        problems += check_presence_changes(window, effect, restart_at)
        problems += check_start_order(window, effect)
        problems += check_auth_acts(window, effect, keys)
        problems += check_job_returns(window, mark, self.jobs)
        problems += self.key_store(model)
        if problems:
            raise Violation("\n".join(f"- {p}" for p in problems))

    def key_store(self, model: ChurnModel) -> list[str]:
        listed = self.list_keys()
        want = {**model.keys(), "denied": []}
        got = {state: sorted(listed.get(state, [])) for state in want}
        if got == want:
            return []
        return [f"the master's key store is {got}; the model has {want}"]

    def gaps(self) -> list[str]:
        """``_seq`` problems in what was recorded since the last check."""
        unchecked = self.recorder.since(self.checked)
        self.checked += len(unchecked)
        problems = self.seq.feed(unchecked)
        if self.recorder.lost:
            problems.append(f"the recorder counted {self.recorder.lost} lost event(s) (gaps)")
        return problems

    def diagnosis(self, model: ChurnModel) -> list[str]:
        """Gaps and key store problems, for a failure found some other way (a wait that
        ran out may be the symptom of a lost event or of a wrong key store)."""
        problems = self.gaps()
        try:
            problems += self.key_store(model)
        except Exception as exc:  # a diagnosis aid: the master may be what broke
            problems.append(f"(the key store could not be read: {exc})")
        return problems

    def tail(self, count: int = 25) -> str:
        events = [e for e in self.recorder.since(0) if not e.tag.startswith("saltsim/listener")]
        lines = [f"  {e.seq}: {e.tag} {_short(e.data)}" for e in events[-count:]]
        return "\n".join(lines) or "  (none)"


def _short(data: dict[str, Any]) -> str:
    text = repr({k: v for k, v in data.items() if k not in ("pub",)})
    return text if len(text) <= 120 else text[:117] + "..."
