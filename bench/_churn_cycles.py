"""What the churn benchmark counts: cycles as the master bus shows them.

A cycle counts only when one id's events arrive in order: ``salt/auth`` accept,
``minion/refresh/<id>``, ``minion_start``, ``salt/minion/<id>/start``. A cycle that
stops half-way is counted as broken, never as done.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from saltsim.event import Event

__all__ = ["MB", "TARGET_RATE", "ChurnResult", "Cycles"]

TARGET_RATE = 100.0  # cycles/s, with zero gaps
MB = 1024.0  # KiB per MiB


@dataclass
class ChurnResult:
    minions: int
    processes: int
    seconds: float
    loop_interval: float
    loadavg_at_start: list[float]
    cycles_in_window: int = 0  # complete on the bus, start event within the window
    cycles_on_bus: int = 0  # complete on the bus, the tail after the window included
    cycles_driver: int = 0  # completed and acknowledged, as the churn processes counted
    failed_driver: int = 0
    driver_errors: dict[str, str] = field(default_factory=dict)
    ran_s: float = 0.0  # from go until the last churn process finished
    lost: int = 0  # gaps in _seq at the listener
    bad_frames: int = 0
    restarts: int = 0
    events: int = 0
    accepts: int = 0
    extra_accepts: int = 0  # a sign-in resent in one cycle (each _auth fires one)
    broken: int = 0  # a start-up event out of its place in the id's sequence
    incomplete: int = 0  # ids whose last cycle stopped half-way on the bus
    presence_ticks: int = 0
    presence_changes: int = 0
    presence_new: int = 0  # ids reported new, summed over the change events
    presence_lost: int = 0
    most_present: int = 0
    final_present: int | None = None  # ids in the first presence list after the end
    master_cpu_s: float = 0.0
    churn_cpu_s: float = 0.0
    listener_cpu_s: float = 0.0
    master_rss_start_mb: float = 0.0
    master_rss_end_mb: float = 0.0
    master_peak_mb: float = 0.0
    master_fds_start: int = 0
    master_fds_end: int = 0
    churn_rss_mb: float = 0.0
    # Every 5 s: (seconds since go, cycles on the bus, master RSS MB, master CPU s since go).
    trace: list[tuple[float, int, float, float]] = field(default_factory=list)
    master_stats: dict[str, Any] = field(default_factory=dict)
    note: str = ""

    @property
    def rate(self) -> float:
        return self.cycles_in_window / self.seconds

    @property
    def zero_gaps(self) -> bool:
        return (
            self.lost == 0
            and self.bad_frames == 0
            and self.broken == 0
            and self.incomplete == 0
            and self.failed_driver == 0
            and self.cycles_on_bus == self.cycles_driver
            and self.final_present == 0
        )

    def verdict(self) -> str:
        return "PASS" if self.zero_gaps and self.rate >= TARGET_RATE else "MISS"

    def per_cycle_ms(self, cpu_s: float) -> float:
        return 1000.0 * cpu_s / self.cycles_on_bus if self.cycles_on_bus else 0.0

    @property
    def master_kb_per_cycle(self) -> float:
        grown = (self.master_rss_end_mb - self.master_rss_start_mb) * MB
        return grown / self.cycles_on_bus if self.cycles_on_bus else 0.0

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = asdict(self)
        out.update(
            rate=round(self.rate, 1),
            zero_gaps=self.zero_gaps,
            verdict=self.verdict(),
            master_cpu_ms_per_cycle=round(self.per_cycle_ms(self.master_cpu_s), 3),
            churn_cpu_ms_per_cycle=round(self.per_cycle_ms(self.churn_cpu_s), 3),
            listener_cpu_ms_per_cycle=round(self.per_cycle_ms(self.listener_cpu_s), 3),
            master_kb_per_cycle=round(self.master_kb_per_cycle, 2),
        )
        return out


_NEXT = {"accept": "refresh", "refresh": "minion_start", "minion_start": "start"}


class Cycles:
    """Each id's events must come as accept, refresh, ``minion_start``, start, again."""

    def __init__(self, result: ChurnResult, ids: list[str]) -> None:
        self.result = result
        self.ids = set(ids)
        self.expect = dict.fromkeys(ids, "accept")
        self.window_end = 0.0  # set at go

    def _step(self, minion_id: str, step: str, now: float) -> None:
        r, expected = self.result, self.expect[minion_id]
        if step == "accept":
            if expected == "refresh":
                r.extra_accepts += 1  # the same cycle's sign-in, resent
            elif expected != "accept":
                r.broken += 1  # the last cycle stopped half-way: a failed cycle
            self.expect[minion_id] = "refresh"
        elif step != expected:
            r.broken += 1
            self.expect[minion_id] = "accept"
        elif step == "start":
            r.cycles_on_bus += 1
            r.cycles_in_window += now <= self.window_end
            self.expect[minion_id] = "accept"
        else:
            self.expect[minion_id] = _NEXT[step]

    def take(self, event: Event, now: float) -> None:
        r, tag, data = self.result, event.tag, event.data
        r.events += 1
        if tag == "salt/auth":
            if data.get("act") == "accept" and data.get("id") in self.ids:
                r.accepts += 1
                self._step(data["id"], "accept", now)
        elif tag.startswith("minion/refresh/"):
            if (minion_id := tag[len("minion/refresh/") :]) in self.ids:
                self._step(minion_id, "refresh", now)
        elif tag == "minion_start":
            if data.get("id") in self.ids:
                self._step(data["id"], "minion_start", now)
        elif tag.startswith("salt/minion/") and tag.endswith("/start"):
            if (minion_id := tag[len("salt/minion/") : -len("/start")]) in self.ids:
                self._step(minion_id, "start", now)
        elif tag == "salt/presence/change":
            r.presence_changes += 1
            r.presence_new += len(self.ids.intersection(data.get("new") or []))
            r.presence_lost += len(self.ids.intersection(data.get("lost") or []))
        elif tag == "salt/presence/present":
            r.presence_ticks += 1
            r.most_present = max(r.most_present, len(self.ids.intersection(data["present"])))

    def finish(self) -> None:
        self.result.incomplete = sum(1 for step in self.expect.values() if step != "accept")
