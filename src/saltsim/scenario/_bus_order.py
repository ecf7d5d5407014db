"""A recorded run in bus order: epochs, ``_seq`` gaps, step boundaries, minion projection.

Order is the bus's ``(epoch, _seq)``, never a clock. A bus that (re)starts announces
itself with ``saltsim/bus/start`` and counts ``_seq`` from 1 again: a new epoch. A ``_seq``
that goes backwards without that announcement is a restart too (the listener missed it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from saltsim.bus import BUS_START_TAG
from saltsim.event import Event
from saltsim.scenario.record import RecordedRun, StepMark

__all__ = ["Gap", "Slot", "boundary", "bus_order", "concerns", "find_gaps", "lanes_of"]

PRESENCE_LISTS = ("present", "new", "lost")


@dataclass(frozen=True)
class Slot:
    """One event at its place in bus order; ``pos`` indexes ``bus_order``'s list."""

    pos: int
    index: int  # in RecordedRun.events (arrival order)
    epoch: int
    seq: int | None
    event: Event
    t: float


@dataclass(frozen=True)
class Gap:
    """Events missing in one bus epoch: ``missing`` of them after ``_seq`` ``after_seq``."""

    epoch: int
    after_seq: int  # 0: the first events of a restarted bus were missed
    missing: int


def bus_order(run: RecordedRun) -> list[Slot]:
    """The run's events sorted by ``(epoch, _seq)``; events without ``_seq`` keep their place."""
    keyed: list[tuple[int, int, int]] = []
    epoch, last = 0, None
    for index, event in enumerate(run.events):
        seq = event.seq
        if seq is not None:
            restarted = event.tag == BUS_START_TAG or (last is not None and seq <= last)
            if restarted and last is not None:
                epoch += 1
            last = seq
        keyed.append((epoch, last if last is not None else 0, index))
    keyed.sort()
    return [
        Slot(pos, index, epoch, run.events[index].seq, run.events[index], run.times[index])
        for pos, (epoch, _, index) in enumerate(keyed)
    ]


def find_gaps(slots: Sequence[Slot]) -> list[Gap]:
    """Missing ``_seq`` numbers between consecutive events of one epoch (and at the start of
    every epoch after the first, which must begin at 1)."""
    gaps: list[Gap] = []
    epoch: int | None = None
    last: int | None = None
    for slot in slots:
        if slot.seq is None:
            continue
        if last is None or epoch != slot.epoch:
            if last is not None and slot.seq > 1:
                gaps.append(Gap(slot.epoch, 0, slot.seq - 1))
        elif slot.seq > last + 1:
            gaps.append(Gap(slot.epoch, last, slot.seq - last - 1))
        epoch, last = slot.epoch, slot.seq
    return gaps


def boundary(slots: Sequence[Slot], mark: StepMark) -> int:
    """The position where ``mark``'s step begins: right after the event with ``first_seq``
    that arrived before the step (or, without ``first_seq``, the first event after it)."""
    if mark.first_seq is not None:
        before = [s for s in slots if s.seq == mark.first_seq and s.t <= mark.started_at]
        if before:
            return max(before, key=lambda s: s.t).pos + 1
    return next((s.pos for s in slots if s.t >= mark.started_at), len(slots))


def concerns(event: Event, minion: str) -> bool:
    """Whether ``event`` is about ``minion``: its id is a tag segment, ``data.id``, or it is
    listed in a presence payload."""
    if minion in event.tag.split("/") or event.data.get("id") == minion:
        return True
    return any(
        isinstance(event.data.get(key), list) and minion in event.data[key]
        for key in PRESENCE_LISTS
    )


def lanes_of(event: Event, minions: Sequence[str]) -> list[str]:
    """The timeline lanes an event is drawn in: the minions it names directly (tag segment,
    ``data.id``, presence ``new``/``lost``), else the master's."""
    segments = set(event.tag.split("/"))
    named = [
        m
        for m in minions
        if m in segments
        or event.data.get("id") == m
        or any(isinstance(event.data.get(k), list) and m in event.data[k] for k in ("new", "lost"))
    ]
    return named or ["master"]
