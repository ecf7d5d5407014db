"""A fake master bus that records runs the way the scenario runner will, for the scenario
tests (imported by the other ``test_scenario_*`` modules), and tests of that fake itself."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from saltsim.event import Event
from saltsim.scenario import RecordedRun, Scenario, load_scenario_text

__all__ = ["FakeBus", "ev", "run_of", "scenario"]

ROOT = Path(__file__).resolve().parents[2]
PRESENCE = ROOT / "scenarios" / "presence.yaml"


def ev(tag: str, seq: int, **data: Any) -> Event:
    """One bus event with ``_seq`` and a 3008 ``_stamp``."""
    return Event.from_data(tag, {**data, "_seq": seq, "_stamp": "2026-11-23T23:48:04.419827+00:00"})


def run_of(
    *events: Event | tuple[str, dict[str, Any]], dialect: str = "3008", **kw: Any
) -> RecordedRun:
    """A run of ``events`` (or ``(tag, data)`` pairs, numbered from ``_seq`` 1), 0.1 s apart."""
    run = RecordedRun(dialect=dialect, **kw)
    for index, item in enumerate(events):
        event = item if isinstance(item, Event) else ev(item[0], index + 1, **item[1])
        run.record(event, 100.0 + index / 10)
    return run


def scenario(expect: str, minions: str = "[m1, m2, m3]", steps: str = "- start: all") -> Scenario:
    """A scenario with ``expect`` (YAML list items, indented by 2) and optional ``steps``."""
    text = f"settings:\n  minions: {minions}\nsteps:\n  {steps}\nexpect:\n{expect}"
    return load_scenario_text(text, "test.yaml")


class FakeBus:
    """Fires events as saltsim's master would and records them with arrival times."""

    def __init__(
        self, dialect: str = "3008", minions: tuple[str, ...] = ("m1", "m2", "m3")
    ) -> None:
        self.dialect = dialect
        self.seq = 0
        self.t = 1000.0
        self.present: list[str] = []
        self.run = RecordedRun(dialect=dialect, minions=minions, scenario="fake", backend="local")
        self.fire("saltsim/bus/start", {"dialect": dialect})

    def stamp(self) -> str:
        return "2026-11-23T23:48:04.419827" + ("+00:00" if self.dialect == "3008" else "")

    def fire(self, tag: str, data: dict[str, Any] | None = None, dt: float = 0.05) -> Event:
        self.seq += 1
        self.t += dt
        event = Event.from_data(tag, {**(data or {}), "_stamp": self.stamp(), "_seq": self.seq})
        self.run.record(event, self.t)
        return event

    def step(self, index: int, kind: str, name: str | None = None) -> None:
        self.t += 0.01
        self.run.mark(index, name, kind, self.t)

    def restart(self) -> None:
        self.seq = 0
        self.fire("saltsim/bus/start", {"dialect": self.dialect})
        self.run.restarts += 1

    def lose(self, count: int) -> None:
        """The bus publishes ``count`` events that the recorder never sees."""
        self.seq += count

    def sign_in(self, minion: str) -> None:
        self.fire("salt/auth", {"result": True, "act": "accept", "id": minion, "pub": "PUB"})
        self.fire(f"minion/refresh/{minion}", {"Minion data cache refresh": minion})
        wrapped = {"id": minion, "cmd": "_minion_event", "pretag": None, "ts": 1}
        self.fire(
            "minion_start", {**wrapped, "data": f"Minion {minion} started", "tag": "minion_start"}
        )
        if self.dialect == "3008":  # _register_resources, sent after minion_start
            self.fire(f"resource/refresh/{minion}", {"Resource cache refresh": minion})
        tag = f"salt/minion/{minion}/start"
        self.fire(tag, {**wrapped, "data": f"Minion {minion} started", "tag": tag})

    def tick(self, connected: list[str], dt: float = 1.0) -> None:
        new = sorted(set(connected) - set(self.present))
        lost = sorted(set(self.present) - set(connected))
        if new or lost:
            self.fire("salt/presence/change", {"new": new, "lost": lost}, dt=dt)
            dt = 0.001
        self.fire("salt/presence/present", {"present": sorted(connected)}, dt=dt)
        self.present = sorted(connected)

    def job(self, jid: str, minions: list[str], fun: str = "test.ping") -> None:
        base = {"jid": jid, "fun": fun, "arg": [], "tgt": "*", "tgt_type": "glob", "user": "root"}
        self.fire(f"salt/job/{jid}/new", {**base, "minions": minions, "missing": []})
        for minion in minions:
            ret = {"cmd": "_return", "id": minion, "success": True, "return": True, "retcode": 0}
            self.fire(f"salt/job/{jid}/ret/{minion}", {**ret, "jid": jid, "fun": fun})


def presence_run(dialect: str = "3008", kill_lost: bool = True) -> RecordedRun:
    """The run ``scenarios/presence.yaml`` describes, as saltsim's master would record it."""
    bus = FakeBus(dialect)
    bus.step(0, "start", "start-all")
    for minion in ("m1", "m2", "m3"):
        bus.sign_in(minion)
    bus.tick(["m1"])
    bus.tick(["m1", "m2", "m3"])
    bus.step(1, "wait")
    bus.step(2, "kill", "kill-m2")
    bus.tick(["m1", "m2", "m3"])
    if kill_lost:
        bus.tick(["m1", "m3"], dt=3.0)
    bus.step(3, "wait")
    bus.step(4, "start", "restart-m2")
    bus.sign_in("m2")
    bus.tick(["m1", "m2", "m3"])
    bus.step(5, "wait")
    bus.step(6, "ticks", "settled")
    bus.tick(["m1", "m2", "m3"])
    return bus.run


def test_fake_bus_numbers_events_from_one_and_marks_steps() -> None:
    run = presence_run()
    assert [e.seq for e in run.events] == list(range(1, len(run.events) + 1))
    assert run.events[0].tag == "saltsim/bus/start"
    assert [m.name for m in run.marks if m.name] == [
        "start-all",
        "kill-m2",
        "restart-m2",
        "settled",
    ]
    assert run.marks[0].first_seq == 1
