"""The churn fuzzer's model: each minion's process and key, and what the bus must show.

Every action on the testbed has a transition here that updates the model and
returns an ``Effect``: the events the bus must carry before the step is over,
which minions presence may (and must) report new or lost in the step, which
start sequences it fires, and the coverage transitions it exercised. The
machine (``machine.py``) acts, then holds the recording to the effect.

The model follows the master and minions as built (and as Salt behaves): a key
is accepted, rejected or deleted with ``salt-key``'s defaults (accept and reject
act on pending keys); a starting minion whose key is missing signs in and pends;
a rejected minion exits; a minion whose accepted key is deleted goes quiet, as a
real minion that makes no request of its own: it signs in (and pends) only when
the next publication reaches it (any job the master publishes: the AES key
rotated at the delete's tick, so it cannot decrypt it), or when it restarts; a
minion whose key is still accepted signs in again after a master restart, at its
next heartbeat, without start events.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from saltsim.event import Event

__all__ = ["AUTH_ACTS", "ChurnModel", "Effect", "Expected", "JobPlan", "MinionState"]

Proc = Literal["none", "running", "paused", "cut", "exited"]
Key = Literal["none", "pending", "accepted", "rejected"]
# The salt/auth answer a minion gets for each state of its key (no impostors here).
AUTH_ACTS: dict[str, str] = {
    "none": "pend",
    "pending": "pend",
    "accepted": "accept",
    "rejected": "reject",
}


@dataclass
class MinionState:
    """What the model knows of one minion: its process, its key, and what its master and
    the network may still hand it."""

    # exited: a rejected minion that gave up (its process ends); cut: alive, off the network
    proc: Proc = "none"
    key: Key = "none"
    cut_off: bool = False  # off the network: a container keeps that through stop and start
    started: bool = False  # this process fired its start events
    session: bool = False  # the master holds a session for this process
    # Alive, its accepted key deleted: it makes no request until a publication reaches
    # it; one published while it was paused or cut off waits for it (publication_waiting).
    quiet: bool = False
    publication_waiting: bool = False
    # A publication went out while this (not quiet) process was off the network: TCP hands
    # it over some time after the reconnect, after retransmission back-off (seen: ~10
    # ticks), so when it arrives is unknown. Deleting the key meanwhile would make the
    # minion pend at an unknown time, which no step can wait for: delete skips it.
    publication_in_flight: bool = False
    was_accepted: bool = False  # its key was deleted while accepted, and it has not pended

    @property
    def alive(self) -> bool:
        return self.proc in ("running", "paused", "cut")

    @property
    def connected(self) -> bool:
        """What presence must show once the step has settled."""
        return self.proc == "running" and self.key == "accepted"


@dataclass(frozen=True)
class Expected:
    """One event the step must put on the bus: a tag, a payload subset, and optionally
    a value that a list in the payload must contain (``("new", "m1")``)."""

    tag: str
    data: Mapping[str, Any] = field(default_factory=dict)
    contains: tuple[str, str] | None = None

    def matches(self, event: Event) -> bool:
        if event.tag != self.tag:
            return False
        if any(event.data.get(k) != v for k, v in self.data.items()):
            return False
        if self.contains is not None:
            key, value = self.contains
            listed = event.data.get(key)
            return isinstance(listed, list) and value in listed
        return True

    def describe(self) -> str:
        extra = f" with {self.contains[1]!r} in {self.contains[0]}" if self.contains else ""
        return f"{self.tag} {dict(self.data)}{extra}"


@dataclass
class Effect:
    """What one step must show on the bus (see the module docstring)."""

    expected: list[Expected] = field(default_factory=list)
    new: set[str] = field(default_factory=set)
    lost: set[str] = field(default_factory=set)
    starts: set[str] = field(default_factory=set)
    restart: bool = False
    rotation: bool = False  # the AES key rotates (the `key` event) at the next tick
    key_event: str | None = None  # the salt/key act this step fires (for auth ordering)
    transitions: list[str] = field(default_factory=list)
    before: dict[str, str] = field(default_factory=dict)  # key states before the step

    def expect(self, tag: str, data: Mapping[str, Any] | None = None) -> None:
        self.expected.append(Expected(tag, dict(data or {})))


@dataclass(frozen=True)
class JobPlan:
    """A job published to a list target: who the master must expect, who must answer,
    and who may answer (a target whose process holds the publication, even paused)."""

    targets: tuple[str, ...]
    minions: tuple[str, ...]
    missing: tuple[str, ...]
    required: frozenset[str]
    allowed: frozenset[str]


class ChurnModel:
    """Minions by id, in the order they were added."""

    def __init__(self) -> None:
        self.minions: dict[str, MinionState] = {}
        self.ever_lost: set[str] = set()
        self.restarts = 0

    # -- reading --------------------------------------------------------------------
    def ids(self, accept: Any = None) -> list[str]:
        """Ids whose state ``accept`` takes (all when None), in insertion order."""
        return [m for m, st in self.minions.items() if accept is None or accept(st)]

    def present(self) -> list[str]:
        return sorted(self.ids(lambda st: st.connected))

    def keys(self) -> dict[str, list[str]]:
        """The key store as ``salt-key -L`` lists it."""
        return {
            state: sorted(self.ids(lambda st, s=state: st.key == s))
            for state in ("accepted", "pending", "rejected")
        }

    # -- the transitions ------------------------------------------------------------
    def _step(self, name: str, minion_id: str | None = None) -> tuple[Effect, set[str]]:
        """A fresh effect, and who is present before the step (``name`` is for reading)."""
        effect = Effect(before={m: st.key for m, st in self.minions.items()})
        if minion_id is not None and minion_id not in self.minions:
            raise KeyError(f"no minion {minion_id!r} in the model")
        return effect, set(self.present())

    def _finish(self, effect: Effect, before: set[str], cause: str) -> Effect:
        after = set(self.present())
        if effect.restart:
            effect.new = after  # a new master's presence starts empty
        else:
            effect.new, effect.lost = after - before, before - after
        for minion_id in sorted(effect.lost):
            effect.transitions.append(f"present -> lost ({cause})")
            self.ever_lost.add(minion_id)
        for minion_id in sorted(effect.new):
            if minion_id in self.ever_lost:
                effect.transitions.append("present -> lost -> new again")
            effect.expected.append(Expected("salt/presence/change", {}, ("new", minion_id)))
        for minion_id in sorted(effect.lost):
            effect.expected.append(Expected("salt/presence/change", {}, ("lost", minion_id)))
        return effect

    def _sign_in(self, minion_id: str, effect: Effect) -> None:
        """A running process without a session signs in: its _auth answer is on the bus."""
        st = self.minions[minion_id]
        act = AUTH_ACTS[st.key]
        data: dict[str, Any] = {"id": minion_id, "result": act in ("pend", "accept")}
        if act != "reject":  # 3006 fires a rejection without `act`
            data["act"] = act
        effect.expect("salt/auth", data)
        if act == "accept":
            st.session = True
            if not st.started:
                st.started = True
                effect.starts.add(minion_id)
                effect.expect("minion_start", {"id": minion_id})
                effect.expect(f"salt/minion/{minion_id}/start", {"id": minion_id})
        elif act == "pend":
            if st.key == "none":
                effect.transitions.append("key none -> pending")
                if st.was_accepted:  # woken by a publication, or restarted
                    effect.transitions.append("key accepted -> deleted -> pending again")
                    st.was_accepted = False
            st.key = "pending"
        else:
            st.proc = "exited"
            effect.transitions.append("rejected minion exits")

    def add(self, minion_id: str) -> Effect:
        if minion_id in self.minions:
            raise ValueError(f"minion {minion_id!r} already exists")
        self.minions[minion_id] = MinionState()
        return Effect(transitions=["minion added"])

    def start(self, minion_id: str) -> Effect:
        effect, before = self._step("start", minion_id)
        st = self.minions[minion_id]
        if st.alive:
            raise ValueError(f"{minion_id} is already running")
        st.started, st.session = False, False
        st.quiet = st.publication_waiting = st.publication_in_flight = False
        if st.cut_off:  # it starts, but cannot reach the master until reconnected
            st.proc = "cut"
            effect.transitions.append("started off the network")
        else:
            st.proc = "running"
            self._sign_in(minion_id, effect)
        return self._finish(effect, before, "start")

    def _end(self, minion_id: str, cause: str, alive: tuple[Proc, ...]) -> Effect:
        effect, before = self._step(cause, minion_id)
        st = self.minions[minion_id]
        if st.proc not in alive:
            raise ValueError(f"{minion_id} has no {' or '.join(alive)} process to {cause}")
        st.proc, st.session = "none", False
        st.quiet = st.publication_waiting = st.publication_in_flight = False
        effect.transitions.append(f"{cause} a minion")
        return self._finish(effect, before, cause)

    def stop(self, minion_id: str) -> Effect:
        """A graceful stop of a running (or cut off) minion. Not of a paused one: the
        signals that resume it let its overdue work out first (a heartbeat, a sign-in)
        in a race with its goodbye, and Docker stops a paused container by killing it."""
        return self._end(minion_id, "stop", ("running", "cut"))

    def kill(self, minion_id: str) -> Effect:
        return self._end(minion_id, "kill", ("running", "paused", "cut"))

    def _silence(self, minion_id: str, how: Proc, cause: str) -> Effect:
        effect, before = self._step(cause, minion_id)
        st = self.minions[minion_id]
        if st.proc != "running":
            raise ValueError(f"{minion_id} is not running")
        st.proc = how
        return self._finish(effect, before, cause)

    def _resume(self, minion_id: str, was: Proc, cause: str) -> Effect:
        effect, before = self._step(cause, minion_id)
        st = self.minions[minion_id]
        if st.proc != was:
            raise ValueError(f"{minion_id} is not {was}")
        st.proc = "running"
        if st.quiet:
            if st.publication_waiting:  # it reads the publication it missed
                self._wake(minion_id, effect)
        elif not (st.key == "accepted" and st.session):
            self._sign_in(minion_id, effect)
        effect = self._finish(effect, before, cause)
        if minion_id in effect.new:
            effect.transitions.append(f"{cause} -> new")
        return effect

    def pause(self, minion_id: str) -> Effect:
        return self._silence(minion_id, "paused", "pause")

    def unpause(self, minion_id: str) -> Effect:
        return self._resume(minion_id, "paused", "unpause")

    def disconnect(self, minion_id: str) -> Effect:
        self.minions[minion_id].cut_off = True
        return self._silence(minion_id, "cut", "disconnect")

    def reconnect(self, minion_id: str) -> Effect:
        st = self.minions[minion_id]
        if not st.cut_off:
            raise ValueError(f"{minion_id} is not off the network")
        st.cut_off = False
        if st.proc == "cut":
            return self._resume(minion_id, "cut", "reconnect")
        effect, before = self._step("reconnect", minion_id)  # a stopped one: nothing to see
        return self._finish(effect, before, "reconnect")

    def accept(self, minion_id: str) -> Effect:
        if minion_id in self.minions and self.minions[minion_id].key != "pending":
            raise ValueError(f"{minion_id}'s key is not pending")
        return self._accept([minion_id])

    def accept_all(self) -> Effect:
        """``salt-key -A``: every pending key at once."""
        return self._accept(self.ids(lambda st: st.key == "pending"))

    def _accept(self, ids: list[str]) -> Effect:
        effect, before = self._step("accept", *ids[:1])
        effect.key_event = "accept"
        for minion_id in ids:  # the master moves every key, then answers sign-ins
            self.minions[minion_id].key = "accepted"
            effect.transitions.append("key pending -> accepted")
            effect.expect("salt/key", {"id": minion_id, "result": True})
        for minion_id in ids:
            if self.minions[minion_id].proc == "running":
                self._sign_in(minion_id, effect)
        return self._finish(effect, before, "accept")

    def reject(self, minion_id: str) -> Effect:
        effect, before = self._step("reject", minion_id)
        st = self.minions[minion_id]
        if st.key != "pending":
            raise ValueError(f"{minion_id}'s key is not pending")
        st.key = "rejected"
        effect.key_event, effect.rotation = "reject", True
        effect.transitions.append("key pending -> rejected")
        effect.expect("salt/key", {"id": minion_id, "result": True})
        if st.proc == "running":
            self._sign_in(minion_id, effect)
        return self._finish(effect, before, "reject")

    def delete(self, minion_id: str) -> Effect:
        effect, before = self._step("delete", minion_id)
        st = self.minions[minion_id]
        if st.key == "none":
            raise ValueError(f"{minion_id} has no key")
        was = st.key
        st.key, st.session = "none", False
        effect.key_event, effect.rotation = "delete", True
        effect.expect("salt/key", {"id": minion_id, "act": "delete", "result": True})
        st.was_accepted = was == "accepted"
        if was == "accepted" and st.alive:
            st.quiet = True  # no request of its own until a publication reaches it
            effect.transitions.append("deleted minion quiet until a publication")
        elif st.proc == "running":
            self._sign_in(minion_id, effect)  # a pending one: its next retry pends again
        effect.transitions.append(f"key {was} -> deleted")
        return self._finish(effect, before, "delete")

    def restart_master(self) -> Effect:
        effect, before = self._step("restart_master")
        effect.restart = True
        self.restarts += 1
        effect.transitions.append("master restart")
        for minion_id, st in self.minions.items():
            st.session = False
            if st.proc == "running" and not st.quiet:
                self._sign_in(minion_id, effect)
                if st.key == "accepted":
                    effect.transitions.append("signed in again after a master restart")
        return self._finish(effect, before, "restart_master")

    def job(self, targets: list[str]) -> tuple[Effect, JobPlan]:
        effect, _ = self._step("job")
        accepted = [t for t in targets if self.minions[t].key == "accepted"]
        plan = JobPlan(
            targets=tuple(targets),
            minions=tuple(accepted),
            missing=tuple(t for t in targets if t not in accepted),
            required=frozenset(t for t in accepted if self.minions[t].connected),
            allowed=frozenset(t for t in targets if self.minions[t].alive),
        )
        if plan.required:
            effect.transitions.append("job returned")
        if set(accepted) - plan.required:
            effect.transitions.append("job to an accepted minion that cannot answer")
        if plan.minions:  # published: every subscriber receives it, targeted or not
            for minion_id, st in self.minions.items():
                if st.quiet and st.proc == "running":
                    self._wake(minion_id, effect)
                elif st.quiet:
                    st.publication_waiting = True
                elif st.proc == "cut":
                    st.publication_in_flight = True
        return effect, plan

    def _wake(self, minion_id: str, effect: Effect) -> None:
        """A quiet minion receives a publication it cannot decrypt: it signs in."""
        st = self.minions[minion_id]
        effect.transitions.append("quiet minion woken by a publication")
        self._sign_in(minion_id, effect)
        st.quiet = st.publication_waiting = False

    def fire(self) -> Effect:
        return Effect(transitions=["custom events"])

    def idle(self) -> Effect:
        return Effect()
