"""The churn state machine: Hypothesis picks actions, the testbed does them, the bus judges.

Each example gets a fresh testbed (master, recorder, minions added as rules
ask), so examples are independent and a failing one replays alone. A step
updates the model, acts on the testbed, then the ``Judge`` (``judge.py``) holds
the recording to what the model says the step shows. Any violation fails the
example with the step list, and writes it as a scenario file that replays it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, precondition, rule

from saltsim.churn.campaign import Campaign, ChurnFailure
from saltsim.churn.invariants import JobRecord
from saltsim.churn.judge import Judge, Violation, tag_is
from saltsim.churn.model import ChurnModel, Effect, MinionState
from saltsim.churn.replay import ReplayLog
from saltsim.event import Event
from saltsim.recorder import Recorder
from saltsim.testbed.base import SaltsimTestbed, minion_action

__all__ = ["ChurnMachine"]

StatePredicate = Callable[[MinionState], bool]
_MAX_RESTARTS = 2  # master restarts per example
_MAX_BURSTS = 3  # custom event bursts per example


def _stopped(st: MinionState) -> bool:
    return st.proc in ("none", "exited")


def _alive(st: MinionState) -> bool:
    return st.alive


def _stoppable(st: MinionState) -> bool:
    return st.proc in ("running", "cut")


def _running(st: MinionState) -> bool:
    return st.proc == "running"


def _paused(st: MinionState) -> bool:
    return st.proc == "paused"


def _cut(st: MinionState) -> bool:
    return st.cut_off


def _pending(st: MinionState) -> bool:
    return st.key == "pending"


def _keyed(st: MinionState) -> bool:
    return st.key != "none"


def _settled_key(st: MinionState) -> bool:
    """Accepted or rejected: deleting the pending key of a running minion only pends it
    again at once, a step that teaches nothing, so delete picks among these; not an
    accepted one with a publication in flight (MinionState.publication_in_flight)."""
    if st.key == "accepted":
        return not st.publication_in_flight
    return st.key == "rejected"


class ChurnMachine(RuleBasedStateMachine):
    """One example at a time: a fresh testbed, rules that act on it and on the model,
    and the ``Judge`` after every step. A campaign subclasses it with its ``campaign``."""

    campaign: ClassVar[Campaign]  # set on the subclass a campaign makes

    def __init__(self) -> None:
        super().__init__()
        self.model = ChurnModel()
        self.log = ReplayLog()
        self.bed: SaltsimTestbed | None = None
        self.recorder: Recorder | None = None
        self.judge: Judge | None = None
        self.step_no = 0
        self.restarts = self.bursts = 0

    # -- life of one example ------------------------------------------------------
    @initialize()
    def boot(self) -> None:
        self.campaign.coverage.examples += 1
        bed = self.campaign.make_testbed()
        try:
            self.bed = bed.start()
            self.recorder = bed.recorder().start()
        except BaseException:
            bed.close()
            self.bed = None
            raise
        self.judge = Judge(self.recorder, self.campaign.settings.converge_timeout, self._keys)
        for _ in range(self.campaign.settings.initial_minions):
            self.add_minion()
        for minion_id in self.model.ids():
            self._start(minion_id)

    def teardown(self) -> None:
        if self.bed is not None:
            self.campaign.histories.append(list(self.log.actions))
        if self.recorder is not None:
            self.recorder.close()
        if self.bed is not None:
            self.bed.close()

    def _active(self) -> bool:
        return self.bed is not None

    def _bed(self) -> SaltsimTestbed:
        """The example's testbed (every rule's precondition requires one)."""
        assert self.bed is not None
        return self.bed

    def _can(self, accept: StatePredicate) -> bool:
        return self._active() and bool(self.model.ids(accept))

    def _pick(self, data: st.DataObject, accept: StatePredicate) -> str:
        return data.draw(st.sampled_from(self.model.ids(accept)), label="minion")

    # -- the rules ----------------------------------------------------------------
    @precondition(
        lambda self: self._active() and len(self.model.minions) < self.campaign.settings.max_minions
    )
    @rule()
    def add_minion(self) -> None:
        minion_id = f"m{len(self.model.minions) + 1}"
        self.model.add(minion_id)
        self._bed().add_minion(minion_id, start=False)
        self.log.add_minion(minion_id)
        self.campaign.coverage.add(["minion added"])

    @precondition(lambda self: self._can(_stopped))
    @rule(data=st.data())
    def start(self, data: st.DataObject) -> None:
        self._start(self._pick(data, _stopped))

    def _start(self, minion_id: str) -> None:
        def act() -> None:
            if self.model.minions[minion_id].proc == "exited":
                self._bed().stop_minion(minion_id)  # a rejected minion's ended process: reap
            self._bed().start_minion(minion_id)

        self._do(f"start {minion_id}", {"start": minion_id}, act, self.model.start, minion_id)

    @precondition(lambda self: self._can(_stoppable))
    @rule(data=st.data())
    def stop(self, data: st.DataObject) -> None:
        self._signal("stop", self._pick(data, _stoppable))

    @precondition(lambda self: self._can(_alive))
    @rule(data=st.data())
    def kill(self, data: st.DataObject) -> None:
        self._signal("kill", self._pick(data, _alive))

    @precondition(lambda self: self._can(_running))
    @rule(data=st.data())
    def pause(self, data: st.DataObject) -> None:
        self._signal("pause", self._pick(data, _running))

    @precondition(lambda self: self._can(_paused))
    @rule(data=st.data())
    def unpause(self, data: st.DataObject) -> None:
        self._signal("unpause", self._pick(data, _paused))

    @precondition(lambda self: self.campaign.settings.backend == "docker" and self._can(_running))
    @rule(data=st.data())
    def disconnect(self, data: st.DataObject) -> None:
        self._signal("disconnect", self._pick(data, _running))

    @precondition(lambda self: self._can(_cut))
    @rule(data=st.data())
    def reconnect(self, data: st.DataObject) -> None:
        self._signal("reconnect", self._pick(data, _cut))

    @precondition(lambda self: self._can(_pending))
    @rule(data=st.data())
    def accept_key(self, data: st.DataObject) -> None:
        self._key("accept", self._pick(data, _pending))

    @precondition(lambda self: self._can(_pending))
    @rule()
    def accept_all_keys(self) -> None:
        def act() -> None:
            with self._bed().client() as client:
                client.key("accept", "*")

        self._do("key accept all", {"key": {"accept": "all"}}, act, self.model.accept_all)

    @precondition(lambda self: self._can(_pending))
    @rule(data=st.data())
    def reject_key(self, data: st.DataObject) -> None:
        self._key("reject", self._pick(data, _pending))

    @precondition(lambda self: self._can(_settled_key))
    @rule(data=st.data())
    def delete_key(self, data: st.DataObject) -> None:
        self._key("delete", self._pick(data, _settled_key))

    # Restarts and event bursts are always possible and cheap to pick: bounded per
    # example, so that examples spend their steps on minions and keys.
    @precondition(lambda self: self._active() and self.restarts < _MAX_RESTARTS)
    @rule()
    def restart_master(self) -> None:
        self.restarts += 1
        self._do(
            "restart_master",
            {"restart_master": True},
            self._bed().restart_master,
            self.model.restart_master,
        )

    @precondition(lambda self: self._can(_keyed))
    @rule(data=st.data())
    def run_job(self, data: st.DataObject) -> None:
        ids = self.model.ids()
        targets = data.draw(
            st.lists(st.sampled_from(ids), min_size=1, max_size=len(ids), unique=True),
            label="targets",
        )
        self._job(targets)

    @precondition(lambda self: self._active() and self.bursts < _MAX_BURSTS)
    @rule(count=st.integers(1, 1000))
    def fire_events(self, count: int) -> None:
        self.bursts += 1
        self._fire(count)

    @precondition(lambda self: self._active())
    @rule()
    def tick(self) -> None:
        """Let two presence ticks pass: nothing may change on its own."""
        self._do("tick", {"ticks": 2}, self._ticks, self.model.idle)

    # -- acting and settling ------------------------------------------------------
    def _signal(self, kind: str, minion_id: str) -> None:
        act = minion_action(self._bed(), kind)
        transition = getattr(self.model, kind)
        self._do(
            f"{kind} {minion_id}", {kind: minion_id}, lambda: act(minion_id), transition, minion_id
        )

    def _key(self, fun: str, minion_id: str) -> None:
        def act() -> None:
            with self._bed().client() as client:
                done = client.key(fun, minion_id)
            if not any(minion_id in ids for ids in done.values()):
                raise Violation(f"salt-key {fun} {minion_id} did nothing: {done}")

        transition = getattr(self.model, fun)
        self._do(f"key {fun} {minion_id}", {"key": {fun: minion_id}}, act, transition, minion_id)

    def _ticks(self) -> None:
        assert self.recorder is not None
        since = self.recorder.mark()
        for _ in range(2):
            event = self.recorder.wait_for("salt/presence/present", 10.0, since=since)
            since = self.recorder.events.index(event, since) + 1

    def _do(
        self,
        line: str,
        step: dict[str, Any],
        act: Callable[[], None],
        transition: Callable[..., Effect],
        *args: str,
    ) -> None:
        assert self.recorder is not None and self.judge is not None
        self.step_no += 1
        self.campaign.coverage.steps += 1
        mark = self.recorder.mark()
        effect = transition(*args)
        self.log.act(line, step)
        self.log.settle(effect, self.model.present(), self.model.keys())
        try:
            act()
            self.judge.settle(effect, mark, self.model)
        except Exception as exc:
            raise self._failure(line, exc) from exc
        self.campaign.coverage.add(effect.transitions)

    def _job(self, targets: list[str]) -> None:
        assert self.recorder is not None and self.judge is not None
        judge = self.judge
        self.step_no += 1
        self.campaign.coverage.steps += 1
        mark = self.recorder.mark()
        effect, plan = self.model.job(targets)
        self.log.job(plan)
        self.log.settle(effect, self.model.present(), self.model.keys())
        line = f"job test.ping -> {targets}"
        try:
            with self._bed().client() as client:
                reply = client.publish(list(targets), "test.ping", tgt_type="list")
            got = (list(reply["minions"]), list(reply["missing"]))
            if got != (list(plan.minions), list(plan.missing)):
                raise Violation(
                    f"the master expected minions={got[0]} missing={got[1]}; the model: "
                    f"minions={list(plan.minions)} missing={list(plan.missing)}"
                )
            if plan.minions:
                jid = reply["jid"]
                new_tag = f"salt/job/{jid}/new"
                new = judge.wait(tag_is(new_tag), mark, judge.timeout, new_tag)
                index = judge.index(new, mark)
                judge.jobs[jid] = JobRecord(jid, plan, index)
                for minion_id in sorted(plan.required):
                    tag = f"salt/job/{jid}/ret/{minion_id}"
                    judge.wait(tag_is(tag), index, judge.timeout, tag)
            judge.settle(effect, mark, self.model)
        except Exception as exc:
            raise self._failure(line, exc) from exc
        self.campaign.coverage.add(effect.transitions)

    def _fire(self, count: int) -> None:
        assert self.recorder is not None
        tag = f"fuzz/custom/{self.step_no + 1}"
        data = {"step": self.step_no + 1}
        seen: list[Event] = []

        def act() -> None:
            assert self.recorder is not None and self.judge is not None
            since = self.recorder.mark()
            if self.recorder.fire(tag, data, count) != count:
                raise Violation(f"the bus refused some of {count} {tag} events")

            def counted(event: Event) -> bool:
                if event.tag == tag:
                    seen.append(event)
                return len(seen) == count

            self.judge.wait(counted, since, self.judge.timeout, f"{count} x {tag}")

        line = f"fire {count} x {tag}"
        self._do(line, {"fire": {"tag": tag, "data": data, "count": count}}, act, self.model.fire)

    def _keys(self) -> dict[str, list[str]]:
        with self._bed().client() as client:
            listed: dict[str, list[str]] = client.key("list")
        return listed

    # -- failing ------------------------------------------------------------------
    def _failure(self, line: str, exc: Exception) -> ChurnFailure:
        campaign = self.campaign
        campaign.failed = True
        number = len(self.log.actions)
        campaign.failing_lengths.append(number)
        path = self.log.write(
            campaign.failure_path,
            campaign.scenario_settings(),
            f"churn fuzzer failure (seed {campaign.seed}) at step {number}: {line}",
        )
        tail = "  (none)"
        if self.judge is not None:
            also = [p for p in self.judge.diagnosis(self.model) if p not in str(exc)]
            if also:
                exc = Violation(f"{exc}\n" + "\n".join(f"- {p}" for p in also))
            tail = self.judge.tail()
        steps = "\n".join(f"  {n:>3}. {a}" for n, a in enumerate(self.log.actions, 1))
        report = (
            f"churn invariant broken at step {number} ({line}):\n{exc}\n"
            f"steps of this example:\n{steps}\n"
            f"last events on the bus:\n{tail}\n"
            f"replay: saltsim scenario run {path} (seed {campaign.seed})"
        )
        campaign.failures.append(report)
        return ChurnFailure(report)
