"""A recorded run cut down to what two implementations can be compared on.

What differs by chance or by design between two runs of one scenario is taken out:

- saltsim's own tags (``saltsim/*``: listener probes, the runner's sentinels, the bus's
  and the bridge's start) are dropped, and what arrived after the runner's last sentinel
  (the run's definite end);
- jids become ``<jid>`` (a 20-digit tag segment, or 3006's bare jid tag), ``_stamp``,
  ``_seq``, ``ts`` and public keys are not compared by value;
- events are grouped by segment: an action step with the ``wait``/``ticks``/``keys``
  steps after it (an action's effects land while the next step waits for them);
- a minion's start sequence (refresh, minion_start, resource refresh, start) stays in
  the segment of the sign-in it follows;
- timing-dependent repeats are collapsed: per segment one ``salt/presence/change`` (the
  union of its changes: how minions acting at once fall into ticks is timing) and the
  ``salt/presence/present`` of its last change's tick (unchanged ticks are timing), and
  a ``salt/auth``
  pend after a pend of the same id, in any step (retries every acceptance_wait_time);
- presence and target lists are sets: sorted.

Each remaining event becomes a ``label`` (its tag, plus what tells two events of that tag
apart: the auth or key ``act`` and ``id``, the presence lists) in its segment, with the
minion it concerns, and is counted in its tag ``family`` (ids and jids as placeholders)
with its payload's key set and value types.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from saltsim.scenario.record import RecordedRun
from saltsim.scenario.spec import WAIT_KINDS

__all__ = ["PASSIVE", "NormRun", "NormStep", "Shape", "label_of", "normalise", "tag_family"]

SYNC_PREFIX = "saltsim/scenario/sync/"  # the runner's sentinels
_START_CHAIN = re.compile(
    r"^(minion/refresh/[^/]+|minion_start|resource/refresh/[^/]+|salt/minion/[^/]+/start)$"
)
_JID = re.compile(r"^\d{20}$")
_ID_LISTS = ("present", "new", "lost", "minions", "missing")


@dataclass
class Shape:
    """The payloads of one tag family: each key with the type names its values had."""

    count: int = 0
    types: dict[str, set[str]] = field(default_factory=dict)

    def add(self, data: dict[str, Any]) -> None:
        self.count += 1
        for key, value in data.items():
            self.types.setdefault(str(key), set()).add(_type_name(value))


@dataclass
class NormStep:
    """One segment: an action step and the waits after it (its effects land in them).
    ``labels`` in bus order; ``who`` the minion each label concerns (``None``: the master)."""

    index: int  # the action step's index; -1: before the first step
    name: str
    labels: list[str] = field(default_factory=list)
    who: list[str | None] = field(default_factory=list)

    def projection(self, minion: str | None) -> list[str]:
        return [label for label, w in zip(self.labels, self.who, strict=True) if w == minion]


@dataclass
class NormRun:
    """A run cut down to what two implementations are compared on: labelled steps and
    the payload shape of each tag family."""

    backend: str
    dialect: str
    steps: list[NormStep]
    shapes: dict[str, Shape]
    events: int  # events kept, after the collapsing


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if value is None:
        return "null"
    return {int: "int", float: "float", str: "str", list: "list", tuple: "list", dict: "map"}.get(
        type(value), type(value).__name__
    )


def _segments(tag: str, ids: set[str]) -> tuple[str, str]:
    """The tag with jids as ``<jid>``, and its family (ids as ``<id>`` too)."""
    if _JID.match(tag):
        return "<jid>", "<jid>"
    parts = tag.split("/")
    norm = ["<jid>" if _JID.match(p) else p for p in parts]
    fam = ["<id>" if p in ids else p for p in norm]
    return "/".join(norm), "/".join(fam)


def tag_family(tag: str, ids: set[str]) -> str:
    return _segments(tag, ids)[1]


def label_of(tag: str, data: dict[str, Any]) -> str:
    """What the side-by-side view shows and compares for one (normalised) event."""
    if tag == "salt/auth":
        act = data.get("act", "(no act)")
        return f"salt/auth {act} {data.get('id')}"
    if tag == "salt/key":
        return f"salt/key {data.get('act')} {data.get('id')}"
    if tag == "salt/presence/present":
        return f"salt/presence/present {sorted(data.get('present') or [])}"
    if tag == "salt/presence/change":
        return (
            f"salt/presence/change new={sorted(data.get('new') or [])} "
            f"lost={sorted(data.get('lost') or [])}"
        )
    return tag


def _step_of(run: RecordedRun) -> list[int]:
    """The step each event was recorded in: the last step begun at or before its arrival."""
    starts = sorted((mark.started_at, mark.index) for mark in run.marks)
    owners: list[int] = []
    position, current = 0, -1
    for t in run.times:
        while position < len(starts) and starts[position][0] <= t:
            current = starts[position][1]
            position += 1
        owners.append(current)
    return owners


# Steps whose effects are the previous action's: they wait, or only read.
PASSIVE = (*WAIT_KINDS, "keys")


def _concerns(tag: str, data: dict[str, Any], ids: set[str]) -> str | None:
    if isinstance(data.get("id"), str) and data["id"] in ids:
        return str(data["id"])
    return next((part for part in tag.split("/") if part in ids), None)


def normalise(run: RecordedRun, steps: list[tuple[str, str]]) -> NormRun:
    """``steps``: the scenario's steps as (label, kind), by index."""
    ids = set(run.minions)
    for event in run.events:
        if event.tag == "salt/auth" and isinstance(event.data.get("id"), str):
            ids.add(event.data["id"])
    segments = [NormStep(-1, "(before the first step)")]
    segment_of: list[int] = []
    for index, (name, kind) in enumerate(steps):
        if kind not in PASSIVE or index == 0:
            segments.append(NormStep(index, name))
        elif kind in PASSIVE:
            segments[-1].name += f" + {name}"
        segment_of.append(len(segments) - 1)
    shapes: dict[str, Shape] = {}
    last_auth: dict[str, str] = {}  # id -> the act of its last salt/auth
    after_change: NormStep | None = None  # the segment of a change whose present is due
    signed_in: dict[str, NormStep] = {}  # id -> the segment of its last sign-in
    kept = 0
    pairs = list(zip(run.events, _step_of(run), strict=True))[: _end(run)]
    for event, owner in pairs:
        if event.tag.startswith("saltsim/"):
            continue
        tag, fam = _segments(event.tag, ids)
        data = {
            k: sorted(v) if k in _ID_LISTS and isinstance(v, list) and _all_str(v) else v
            for k, v in event.data.items()
        }
        segment = segments[segment_of[owner] if owner >= 0 else 0]
        who = _concerns(tag, data, ids) if not tag.startswith("salt/presence/") else None
        if tag == "salt/auth":
            key = str(data.get("id"))  # a pend retry repeats, whichever step it falls in
            if data.get("act") == "pend" and last_auth.get(key) == "pend":
                continue
            last_auth[key] = str(data.get("act"))
            if data.get("act") == "accept":
                signed_in[key] = segment
        if who is not None and who in signed_in and _START_CHAIN.match(tag):
            # A start sequence is one effect of one sign-in: it stays with it, even when
            # the next step begins halfway (real Salt can report the minion present
            # before its start events, and a scenario may wait for that).
            segment = signed_in[who]
        shapes.setdefault(fam, Shape()).add(data)
        kept += 1
        if tag == "salt/presence/change":
            _presence(segment, tag, data)
            after_change = segment
            continue
        if tag == "salt/presence/present":
            # Only a tick's present after its change, in the change's segment (the next
            # step may begin between the two); the unchanged ticks are timing.
            if after_change is not None:
                _presence(after_change, tag, data)
            after_change = None
            continue
        label = label_of(tag, data)
        segment.labels.append(f"{label} {who}" if tag == "minion_start" else label)
        segment.who.append(who)
    return NormRun(run.backend, run.dialect, segments, shapes, kept)


def _presence(segment: NormStep, tag: str, data: dict[str, Any]) -> None:
    """One presence change per segment (the union of its changes: how the minions of one
    action fall into ticks is timing), and its last ``present`` (how many ticks fit is
    timing too)."""
    prefix = "salt/presence/change" if tag.endswith("/change") else "salt/presence/present"
    found = [i for i, label in enumerate(segment.labels) if label.startswith(prefix)]
    if tag.endswith("/present"):
        for i in reversed(found):
            del segment.labels[i], segment.who[i]
        segment.labels.append(label_of(tag, data))
        segment.who.append(None)
        return
    if not found:
        segment.labels.append(label_of(tag, data))
        segment.who.append(None)
        return
    merged = dict(_CHANGE.fullmatch(segment.labels[found[0]]).groupdict())  # type: ignore[union-attr]
    new = sorted(set(eval_list(merged["new"])) | set(data.get("new") or []))
    lost = sorted(set(eval_list(merged["lost"])) | set(data.get("lost") or []))
    segment.labels[found[0]] = label_of(tag, {"new": new, "lost": lost})


_CHANGE = re.compile(r"salt/presence/change new=(?P<new>\[.*?\]) lost=(?P<lost>\[.*?\])")


def eval_list(text: str) -> list[str]:
    """The ids of a label's ``['a', 'b']``."""
    return re.findall(r"'([^']*)'", text)


def _end(run: RecordedRun) -> int:
    """Where the run ends: at the runner's last sentinel (fired after the last step, it
    gives the recording a definite end); what straggles in after it is not compared."""
    for index in range(len(run.events) - 1, -1, -1):
        if run.events[index].tag.startswith(SYNC_PREFIX):
            return index
    return len(run.events)


def _all_str(values: list[Any]) -> bool:
    return all(isinstance(v, str) for v in values)
