"""A recorded run: the events a listener saw, when they arrived, and when each step began.

``write_record`` / ``read_record`` keep a run as JSONL so it can be checked again without
running anything. Line 1 is a header (scenario, dialect, backend, minions, started,
step marks), then one line per event ``{"tag", "data", "t"}`` with the full payload
(``_stamp`` and ``_seq`` included), then a summary line with the listener's counters.

Times (``t`` of events, ``started_at`` of steps) are seconds on one clock of the
recorder's choice, the same for both: ``saltsim.recorder.Recorder`` stamps arrivals with
``time.time()`` (unix seconds), so step marks then use ``time.time()`` too. Only
``within`` compares them, and only with each other; ordering never reads a clock.
"""

from __future__ import annotations

import base64
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from saltsim.event import Event
from saltsim.safejson import MAX_DEPTH
from saltsim.scenario._errors import ScenarioError

__all__ = [
    "RECORD_FORMAT",
    "RecordedRun",
    "StepMark",
    "dumps_record",
    "loads_record",
    "read_record",
    "write_record",
]

RECORD_FORMAT = "saltsim-run/1"


@dataclass(frozen=True)
class StepMark:
    """When step ``index`` (0-based, in ``Scenario.steps``) began.

    ``first_seq`` is the ``_seq`` of the last event the recorder had received when the
    step began (``None``: nothing yet); everything recorded after it belongs to the step
    or later. ``started_at`` is on the same clock as the events' arrival times.
    """

    index: int
    name: str | None
    kind: str
    started_at: float
    first_seq: int | None = None


@dataclass
class RecordedRun:
    """What a run left behind; the runner fills it as the run goes (``record``, ``mark``)."""

    events: list[Event] = field(default_factory=list)  # in arrival order
    times: list[float] = field(default_factory=list)  # arrival time of events[i]
    marks: list[StepMark] = field(default_factory=list)
    dialect: str = "3008"
    minions: tuple[str, ...] = ()
    lost: int = 0  # the listener's count of _seq gaps
    restarts: int = 0  # bus restarts the listener saw
    scenario: str = ""
    backend: str = ""
    started: float | None = None  # unix seconds when the run began, for people
    jids: dict[str, str] = field(default_factory=dict)  # what cmd_async steps captured, by name

    def __post_init__(self) -> None:
        if len(self.events) != len(self.times):
            raise ValueError(f"{len(self.events)} events but {len(self.times)} arrival times")

    def record(self, event: Event, t: float) -> None:
        self.events.append(event)
        self.times.append(t)

    def mark(self, index: int, name: str | None, kind: str, started_at: float) -> StepMark:
        """Mark step ``index`` as begun now; ``first_seq`` is the last ``_seq`` recorded."""
        seqs = (event.seq for event in reversed(self.events) if event.seq is not None)
        mark = StepMark(index, name, kind, started_at, next(seqs, None))
        self.marks.append(mark)
        return mark

    def mark_named(self, name: str) -> StepMark | None:
        return next((mark for mark in self.marks if mark.name == name), None)

    @property
    def origin(self) -> float:
        """The earliest time recorded: reports show times relative to it."""
        first = [*self.times[:1], *(mark.started_at for mark in self.marks[:1])]
        return min(first) if first else 0.0


def _to_json(value: Any, depth: int = MAX_DEPTH) -> Any:
    """msgpack-native values to JSON; bytes and non-string keys survive a round trip.

    What JSON cannot hold is kept readable instead of ending the record: nesting deeper
    than ``MAX_DEPTH`` becomes a note, other types (a ``Timestamp``, a ``datetime``) their
    ``str``; those two do not round-trip."""
    if isinstance(value, bytes):
        return {"$bytes": base64.b64encode(value).decode("ascii")}
    if isinstance(value, dict | list | tuple) and depth <= 0:
        return f"<nested deeper than {MAX_DEPTH} levels>"
    if isinstance(value, dict):
        if all(isinstance(k, str) for k in value) and not (len(value) == 1 and _tagged(value)):
            return {k: _to_json(v, depth - 1) for k, v in value.items()}
        return {
            "$map": [[_to_json(k, depth - 1), _to_json(v, depth - 1)] for k, v in value.items()]
        }
    if isinstance(value, list | tuple):
        return [_to_json(item, depth - 1) for item in value]
    if value is None or isinstance(value, str | int | float):
        return value
    return str(value)


def _tagged(value: dict[Any, Any]) -> bool:
    return next(iter(value)) in ("$bytes", "$map")


def _from_json(value: Any) -> Any:
    if isinstance(value, dict):
        if len(value) == 1 and "$bytes" in value:
            return base64.b64decode(value["$bytes"])
        if len(value) == 1 and "$map" in value:
            return {_hashable(_from_json(k)): _from_json(v) for k, v in value["$map"]}
        return {k: _from_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_from_json(item) for item in value]
    return value


def _hashable(key: Any) -> Any:
    return tuple(_hashable(k) for k in key) if isinstance(key, list) else key


def dumps_record(run: RecordedRun) -> str:
    header: dict[str, Any] = {
        "record": RECORD_FORMAT,
        "scenario": run.scenario,
        "dialect": run.dialect,
        "backend": run.backend,
        "minions": list(run.minions),
        "started": run.started,
        "marks": [asdict(mark) for mark in run.marks],
    }
    if run.jids:
        header["jids"] = dict(run.jids)
    lines = [json.dumps(header)]
    for event, t in zip(run.events, run.times, strict=True):
        lines.append(json.dumps({"tag": event.tag, "data": _to_json(event.full), "t": t}))
    summary = {"events": len(run.events), "lost": run.lost, "restarts": run.restarts}
    lines.append(json.dumps({"summary": summary}))
    return "\n".join(lines) + "\n"


def write_record(path: str | Path, run: RecordedRun) -> None:
    Path(path).write_text(dumps_record(run), encoding="utf-8")


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _header(source: str, obj: Any) -> RecordedRun:
    if not isinstance(obj, dict) or obj.get("record") != RECORD_FORMAT:
        raise ScenarioError(
            source,
            1,
            f'not a saltsim run record: line 1 must be a header with "record": "{RECORD_FORMAT}"',
        )
    try:
        marks = [StepMark(**mark) for mark in obj.get("marks", [])]
        jids = obj.get("jids", {})
        if not isinstance(jids, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in jids.items()
        ):
            raise TypeError("jids must map names to jids")
        return RecordedRun(
            jids=dict(jids),
            marks=marks,
            dialect=str(obj["dialect"]),
            minions=tuple(obj.get("minions", ())),
            scenario=str(obj.get("scenario", "")),
            backend=str(obj.get("backend", "")),
            started=obj.get("started"),
        )
    except (KeyError, TypeError) as exc:
        raise ScenarioError(source, 1, f"bad record header: {exc}") from exc


def loads_record(text: str, source: str = "<record>") -> RecordedRun:
    """Parse a JSONL run record; ``ScenarioError`` naming the line of any malformed line."""
    run: RecordedRun | None = None
    summary_line = 0
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ScenarioError(
                source, number, f"not JSON: {exc.msg} at column {exc.colno}"
            ) from exc
        if run is None:
            run = _header(source, obj)
            continue
        if summary_line:
            raise ScenarioError(
                source, number, f"nothing may follow the summary (line {summary_line})"
            )
        if isinstance(obj, dict) and set(obj) == {"summary"} and isinstance(obj["summary"], dict):
            lost, restarts = obj["summary"].get("lost", 0), obj["summary"].get("restarts", 0)
            if not all(isinstance(n, int) and not isinstance(n, bool) for n in (lost, restarts)):
                problem = "the summary's lost and restarts must be whole numbers"
                raise ScenarioError(source, number, problem)
            run.lost, run.restarts, summary_line = lost, restarts, number
            continue
        if not (
            isinstance(obj, dict)
            and isinstance(obj.get("tag"), str)
            and isinstance(obj.get("data"), dict)
            and _number(obj.get("t"))
        ):
            raise ScenarioError(
                source,
                number,
                'an event line needs "tag" (string), "data" (object) and "t" (number)',
            )
        run.record(Event.from_data(obj["tag"], _from_json(obj["data"])), float(obj["t"]))
    if run is None:
        raise ScenarioError(source, 1, "empty run record: no header")
    return run


def read_record(path: str | Path) -> RecordedRun:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError(str(path), None, f"cannot read run record: {exc.strerror}") from exc
    return loads_record(text, str(path))
