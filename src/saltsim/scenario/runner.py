"""Run a scenario: its steps against a testbed, every bus event recorded, then checked.

The recorder is armed before the first step and stays until a sentinel fired after
the last one comes back, so the recording has a definite end. Each step is marked
(time and the last ``_seq`` seen) before it acts; ``wait`` and ``ticks`` block on the
recorder with one deadline. The run is written as JSONL and an HTML timeline, checked,
and on failure reported with the expected patterns beside the recorded timeline (and,
on the docker backend, the containers' log tails).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from saltsim.errors import EventTimeoutError
from saltsim.event import Event
from saltsim.recorder import Recorder
from saltsim.scenario._testbed import CLOUD_PROVIDER, CloudHost, make_testbed, setup_cloud
from saltsim.scenario._waits import StepFailedError, seen_since, wait_for_each
from saltsim.scenario.checker import CheckResult, check
from saltsim.scenario.pattern import Pattern, builtin_captures
from saltsim.scenario.record import RecordedRun, StepMark, write_record
from saltsim.scenario.report import render_failure, render_summary
from saltsim.scenario.spec import (
    ALL,
    DEFAULT_TIMEOUT,
    MINION_STEPS,
    MINION_WAITS,
    WAIT_KINDS,
    AsyncCommand,
    CloudCreate,
    CloudDestroy,
    CloudFault,
    Command,
    Fire,
    KeyAction,
    KeyListing,
    Returns,
    RunnerCall,
    Scenario,
    Step,
)
from saltsim.scenario.timeline import write_timeline
from saltsim.testbed.base import Testbed, minion_action

__all__ = [
    "CLOUD_PROVIDER",
    "CloudHost",
    "RunOutcome",
    "ScenarioRunner",
    "StepFailedError",
    "make_testbed",
    "setup_cloud",
]

Say = Callable[[str], None]
_SYNC_TAG = "saltsim/scenario/sync"
_JOB_TIMEOUT = 10.0


@dataclass
class RunOutcome:
    """One scenario run: the recording, the checker's verdict, where both were written,
    and the step that failed (if any); ``ok`` and ``report()`` for callers."""

    scenario: Scenario
    run: RecordedRun
    result: CheckResult
    events_path: Path
    timeline_path: Path
    step_error: str | None = None
    logs: str = ""
    progress: str = ""  # what the runner said, step by step (kept by the pytest fixture)

    @property
    def ok(self) -> bool:
        return self.result.ok and self.step_error is None

    def report(self) -> str:
        """The summary, and on failure the divergence beside the timeline and the logs."""
        lines = [self.progress] if self.progress else []
        lines.append(render_summary(self.result))
        if self.step_error:
            lines.append(f"!! step failed: {self.step_error}")
        if not self.result.ok:
            lines.append(render_failure(self.result, self.run))
        if not self.ok and self.logs:
            lines.append(self.logs)
        return "\n".join(lines)


class ScenarioRunner:
    """One run of one scenario; ``run()`` returns a ``RunOutcome`` (it raises only when
    the testbed itself cannot start)."""

    def __init__(self, scenario: Scenario, results_dir: Path, say: Say = print) -> None:
        self.scenario = scenario
        self.say = say
        stamp = time.strftime("%Y%m%d-%H%M%S")
        settings = scenario.settings
        self.out_dir = (
            results_dir / f"{scenario.name}-{settings.backend}-{settings.dialect}-{stamp}"
        )
        self.captures: dict[str, Any] = builtin_captures(settings.minions)
        self.jobs: dict[str, list[str]] = {}  # a cmd_async's jid name -> the minions targeted
        self.marks: list[StepMark] = []
        self._cursor = 0  # where the next wait starts searching the recording
        self._action_start = 0  # where the last action step began (in the recording)
        self._last_match: Event | None = None  # what the last wait matched since then

    def run(self, testbed: Testbed | None = None) -> RunOutcome:
        scenario, settings = self.scenario, self.scenario.settings
        self.say(
            f"scenario {scenario.name} ({scenario.source}): backend {settings.backend}, "
            f"dialect {settings.dialect}, minions {', '.join(settings.minions) or 'none'}"
            + "".join(f", impostor {h} (id {i})" for h, i in settings.impostors.items())
            + (f", VMs {', '.join(settings.vms)}" if settings.vms else "")
        )
        bed = testbed if testbed is not None else make_testbed(scenario)
        try:
            setup_cloud(bed, scenario)
        except BaseException:
            bed.close()
            raise
        began = time.time()
        step_error: str | None = None
        logs = ""
        with bed:
            with bed.recorder() as recorder:
                for minion_id in settings.minions:
                    bed.add_minion(minion_id, start=False)
                for handle, minion_id in settings.impostors.items():
                    bed.add_minion(minion_id, start=False, name=handle)
                try:
                    for index, step in enumerate(scenario.steps):
                        self._step(bed, recorder, index, step)
                except (EventTimeoutError, RuntimeError) as exc:
                    step_error = str(exc)
                    self.say("  FAILED: " + step_error.replace("\n", "\n    "))
                self._settle(recorder)
            run = RecordedRun(
                events=list(recorder.events),
                times=list(recorder.arrivals),
                marks=self.marks,
                dialect=settings.dialect,
                minions=settings.minions,
                lost=recorder.lost,
                restarts=recorder.restarts,
                scenario=scenario.name,
                backend=settings.backend,
                started=began,
                jids={name: str(self.captures[name]) for name in self.jobs},
            )
            result = check(scenario, run)
            if (step_error is not None or not result.ok) and settings.backend == "docker":
                logs = self._logs(bed)  # while the containers still exist
        events_path, timeline_path = self._write(run, result)
        outcome = RunOutcome(scenario, run, result, events_path, timeline_path, step_error, logs)
        self.say(outcome.report())
        verdict = "PASSED" if outcome.ok else "FAILED"
        self.say(
            f"{verdict}: {scenario.name}, {len(result.results) - len(result.skipped)} "
            f"expectations checked, {len(result.failed)} failed, {len(result.skipped)} skipped, "
            f"{len(run.events)} events, {run.lost} lost"
        )
        self.say(f"events:   {events_path}\ntimeline: {timeline_path}")
        return outcome

    # -- steps ----------------------------------------------------------------------
    def _step(self, bed: Testbed, recorder: Recorder, index: int, step: Step) -> None:
        """Mark, act, and for actions whose effects are on the bus when they return (jobs,
        runners, keys, fired events) sync the recorder, so the next step starts after them.

        Waits search from the start of the last action (so a ``wait`` after a fast
        ``fire`` finds it), and past whatever an earlier wait already matched."""
        since = recorder.mark()
        if step.kind not in WAIT_KINDS:
            self._cursor = self._action_start = since
            self._last_match = None
        seqs = [e.seq for e in recorder.since(0) if e.seq is not None]
        self.marks.append(
            StepMark(index, step.name, step.kind, time.time(), seqs[-1] if seqs else None)
        )
        began = time.monotonic()
        self.say(
            f"  step {index + 1}/{len(self.scenario.steps)}"
            f"{' ' + step.name if step.name else ''}: {step.describe()}"
        )
        self._act(bed, recorder, step, self._cursor)
        if step.kind in ("cmd", "cmd_async", "run", "key", "fire", "cloud"):
            self._settle(recorder)
        self.say(f"    done in {time.monotonic() - began:.1f}s")

    def _act(self, bed: Testbed, recorder: Recorder, step: Step, since: int) -> None:
        settings, kind, args = self.scenario.settings, step.kind, step.args
        timeout = step.timeout or DEFAULT_TIMEOUT
        if kind in MINION_STEPS:
            action = minion_action(bed, kind)
            for minion_id in settings.resolve(args):
                action(minion_id)
        elif kind == "restart_master":
            bed.restart_master()
        elif kind == "wait":
            self._wait(recorder, args, timeout, since)
        elif kind == "ticks":
            self._ticks(recorder, int(args), timeout, since)
        elif kind in MINION_WAITS:
            minions = settings.resolve(args)
            self._cursor = wait_for_each(recorder, kind, minions, timeout, since)
        elif kind == "returns":
            self._returns(recorder, args, timeout, since)
        elif kind == "cmd_async":
            self._cmd_async(bed, args)
        elif kind == "key":
            self._key(bed, args)
        elif kind == "keys":
            listing: KeyListing = args
            with bed.client() as client:
                problem = listing.problem(client.key("list"))
            if problem:
                raise RuntimeError(problem)
        elif kind == "cmd":
            self._cmd(bed, args, step.timeout or _JOB_TIMEOUT)
        elif kind == "run":
            call: RunnerCall = args
            with bed.client() as client:
                client.runner(call.fun, list(call.arg), dict(call.kwarg))
        elif kind == "fire":
            fire: Fire = args
            if recorder.fire(fire.tag, dict(fire.data), fire.count) < fire.count:
                raise RuntimeError(f"the bus did not take every {fire.tag}")
        elif kind == "cloud":
            self._cloud(bed, args, timeout)
        else:  # the loader refuses unknown kinds; this guards a new kind without a runner
            raise RuntimeError(f"the runner cannot do {kind!r} steps yet")

    def _wait(self, recorder: Recorder, pattern: Pattern, timeout: float, since: int) -> None:
        missing = pattern.missing(self.captures)
        if missing:
            raise RuntimeError(f"wait uses ${{{missing[0]}}}, captured by no earlier wait")
        found: list[dict[str, Any]] = []

        def accept(event: Event) -> bool:
            captured = pattern.match(event, self.captures)
            if captured is None:
                return False
            found.append(captured)
            return True

        what = pattern.describe(self.captures)
        try:
            event = recorder.wait_for(accept, timeout, since=since, what=what)
        except EventTimeoutError:
            note = self._missed(recorder, pattern, since)
            raise StepFailedError(
                what, timeout, seen_since(recorder, since), self._WAIT_HINT, note
            ) from None
        self._cursor = recorder.events.index(event, since) + 1
        self._last_match = event
        self.captures.update(found[-1])

    def _ticks(self, recorder: Recorder, count: int, timeout: float, since: int) -> None:
        """``count`` presence ticks, each within ``timeout``."""
        for done in range(count):
            try:
                event = recorder.wait_for("salt/presence/present", timeout, since=since)
            except EventTimeoutError:
                note = (
                    f"{done} of {count} ticks came"
                    if done
                    else "no presence tick since the search began: is presence_events on?"
                )
                seen = seen_since(recorder, since)
                raise StepFailedError("salt/presence/present", timeout, seen, "", note) from None
            since = self._cursor = recorder.events.index(event, since) + 1

    _WAIT_HINT = (
        "a wait searches from the start of the last action step, past what an earlier wait "
        "matched (scenarios/README.md, 'Where waits look')"
    )

    def _missed(self, recorder: Recorder, pattern: Pattern, since: int) -> str:
        """Where a matching event came if it came before the wait's search began: before
        the previous wait's match, or before the last action step."""
        earlier = recorder.since(0)[:since]
        hits = [e for e in earlier if pattern.match(e, self.captures) is not None]
        if not hits:
            return ""
        hit = hits[-1]
        if self._last_match is not None and earlier.index(hit) >= self._action_start:
            return (
                f"{hit.tag} came at #{hit.seq}, before the previous wait's match at "
                f"#{self._last_match.seq} ({self._last_match.tag})"
            )
        return f"{hit.tag} came at #{hit.seq}, before the last action step began"

    def _cmd_async(self, bed: Testbed, job: AsyncCommand) -> None:
        """Publish and go on: the jid is captured as ``job.jid``, the targets are kept for
        a ``returns`` step."""
        command = job.command
        tgt = list(command.tgt) if isinstance(command.tgt, tuple) else command.tgt
        with bed.client() as client:
            # MasterControl (saltsim.testbed.base) has no publish; saltsim's MasterClient has.
            publish = getattr(client, "publish", None)
            if not callable(publish):
                raise RuntimeError(f"the {bed.backend} backend's client cannot publish a job")
            published = publish(
                tgt, command.fun, list(command.arg), dict(command.kwarg), command.tgt_type
            )
        self.captures[job.jid] = published["jid"]
        self.jobs[job.jid] = list(published.get("minions") or [])
        self.say(f"    jid {published['jid']} (${{{job.jid}}}), targets {self.jobs[job.jid]}")

    def _returns(self, recorder: Recorder, returns: Returns, timeout: float, since: int) -> None:
        jid = self.captures[returns.jid]
        sources = returns.sources
        minions = [
            m
            for m in (
                self.jobs[returns.jid]
                if sources is None
                else self.scenario.settings.resolve(sources)
            )
            if m not in returns.excluded
        ]
        # Returns may have landed while earlier steps ran: search from the publication on.
        start = next(
            (i for i, e in enumerate(recorder.since(0)) if e.tag == f"salt/job/{jid}/new"), since
        )
        wait_for_each(recorder, "returns", minions, timeout, min(start, since), jid)

    def _key(self, bed: Testbed, action: KeyAction) -> None:
        fun = {"accept": "accept", "reject": "reject", "delete": "delete"}[action.action]
        with bed.client() as client:
            if action.targets == ALL:
                client.key(fun, "*")
                return
            for minion_id in action.targets:
                client.key(fun, minion_id)

    def _cloud(
        self, bed: Testbed, action: CloudCreate | CloudDestroy | CloudFault, timeout: float
    ) -> None:
        """A cloud runner through the master (a failed VM is the scenario's to judge: its
        error event is on the bus), or a fault injected into the provider."""
        if isinstance(action, CloudFault):
            url = f"{bed.cloud_url_host}/v1/faults"
            try:
                reply = httpx.post(url, json=action.body(), timeout=timeout)
            except httpx.HTTPError as exc:
                raise RuntimeError(f"POST {url}: {exc}") from exc
            if reply.status_code != 201:
                raise RuntimeError(f"POST {url} answered {reply.status_code}: {reply.text}")
            return
        if isinstance(action, CloudCreate):
            fun, arg = "cloud.profile", [action.profile, *action.names]
        else:
            fun, arg = "cloud.destroy", list(action.names)
        with bed.client() as client:
            ran = client.runner(fun, arg)
        if not ran["success"]:
            self.say(f"    {fun} failed: {ran['return']}")

    def _cmd(self, bed: Testbed, command: Command, timeout: float) -> None:
        tgt = list(command.tgt) if isinstance(command.tgt, tuple) else command.tgt
        with bed.client() as client:
            client.cmd(
                tgt, command.fun, list(command.arg), dict(command.kwarg), command.tgt_type, timeout
            )

    # -- the end --------------------------------------------------------------------
    def _settle(self, recorder: Recorder) -> None:
        """Fire a sentinel and wait for it: everything before it is recorded."""
        tag = f"{_SYNC_TAG}/{uuid.uuid4().hex}"
        since = recorder.mark()
        if recorder.fire(tag, {}):
            recorder.wait_for(tag, 30, since=since)

    def _logs(self, bed: Testbed) -> str:
        settings = self.scenario.settings
        names = ["master", *settings.minions, *settings.impostors]
        if settings.cloud is not None:
            names.append("cloud-sim")
        parts = []
        for name in names:
            try:
                tail = bed.logs(name).strip().splitlines()[-20:]
            except Exception as exc:  # logs are a diagnosis aid; never mask the failure
                tail = [f"(no logs: {exc})"]
            parts.append(f"--- logs of {name} (last 20 lines)\n" + "\n".join(tail))
        return "\n".join(parts)

    def _write(self, run: RecordedRun, result: CheckResult) -> tuple[Path, Path]:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        events_path = self.out_dir / "events.jsonl"
        timeline_path = self.out_dir / "timeline.html"
        write_record(events_path, run)
        write_timeline(timeline_path, self.scenario, run, result)
        return events_path, timeline_path
