"""The runner's waits on a set of minions (``present``, ``started``, ``returns``) and the
failure every step wait raises: what was awaited, why it may have been missed, and what
was recorded instead, one event per line."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from saltsim.errors import EventTimeoutError
from saltsim.event import Event
from saltsim.recorder import Recorder
from saltsim.scenario._compact import compact
from saltsim.scenario.pattern import OWN_PREFIX

__all__ = ["SHOWN", "StepFailedError", "describe_event", "seen_since", "wait_for_each"]

SHOWN = 12  # recorded events a step failure lists
PRESENT_TAG = "salt/presence/present"


class StepFailedError(EventTimeoutError):
    """A step's wait ran out; the run still writes and checks what it recorded.

    The message is one line per fact: what was awaited and for how long, a ``note`` on
    why (who is missing, an event that came before the search began), then the events
    recorded since the search began, one per line, and a ``hint``."""

    def __init__(
        self, awaited: str, waited: float, seen: list[str], hint: str = "", note: str = ""
    ) -> None:
        super().__init__(awaited, waited, seen, hint)
        lines = [f"no event matching {awaited} within {waited:.2f}s"]
        if note:
            lines.append(note)
        if seen:
            more = f" (the last {SHOWN} of {len(seen)})" if len(seen) > SHOWN else ""
            lines.append(f"seen instead{more}:")
            lines += [f"    {line}" for line in seen[-SHOWN:]]
        else:
            lines.append("seen instead: nothing")
        if hint:
            lines.append(hint)
        self.args = ("\n".join(lines),)


def describe_event(event: Event) -> str:
    """``#12 salt/presence/change {new: [], lost: [m2]}`` (``#``: the bus's ``_seq``)."""
    return f"#{event.seq} {event.tag} {compact(event.data, 140)}"


def seen_since(recorder: Recorder, since: int) -> list[str]:
    """The events recorded from index ``since`` on, saltsim's own left out."""
    return [describe_event(e) for e in recorder.since(since) if not e.tag.startswith(OWN_PREFIX)]


def _listing(names: Sequence[str], limit: int = 10) -> str:
    shown = ", ".join(sorted(names)[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _present(recorder: Recorder, want: set[str], timeout: float, since: int) -> Event:
    """The first ``salt/presence/present`` listing every minion of ``want``."""
    last: list[Event] = []

    def accept(event: Event) -> bool:
        if event.tag != PRESENT_TAG:
            return False
        last[:] = [event]
        listed = event.data.get("present")
        return isinstance(listed, list) and want <= set(listed)

    what = f"{PRESENT_TAG} listing {_listing(list(want))}"
    try:
        return recorder.wait_for(accept, timeout, since=since, what=what)
    except EventTimeoutError:
        pass
    if last:
        listed = last[0].data.get("present") or []
        missing = sorted(want - set(listed))
        note = (
            f"missing: {_listing(missing)} (the last {PRESENT_TAG}, #{last[0].seq}, listed "
            f"{len(listed)} of the {len(want)} awaited)"
        )
    else:
        note = f"no {PRESENT_TAG} at all since the search began: is presence_events on?"
    raise StepFailedError(what, timeout, seen_since(recorder, since), note=note)


def _each(
    recorder: Recorder,
    want: set[str],
    tag_of: Callable[[str], str],
    what: str,
    timeout: float,
    since: int,
) -> Event:
    """Wait until an event tagged ``tag_of(id)`` came for every id of ``want``."""
    wanted = {tag_of(name): name for name in want}
    got: set[str] = set()

    def accept(event: Event) -> bool:
        if event.tag in wanted:
            got.add(wanted[event.tag])
        return got >= want

    try:
        return recorder.wait_for(accept, timeout, since=since, what=what)
    except EventTimeoutError:
        pass
    missing = sorted(want - got)
    note = f"missing: {_listing(missing)} ({len(got)} of {len(want)} came)"
    raise StepFailedError(what, timeout, seen_since(recorder, since), note=note)


def wait_for_each(
    recorder: Recorder,
    kind: str,
    minions: Sequence[str],
    timeout: float,
    since: int,
    jid: Any = None,
) -> int:
    """A ``present``, ``started`` or ``returns`` step: wait with one deadline until every
    minion of ``minions`` is there; the index just past the event that completed it."""
    want = set(minions)
    if not want:
        return since
    if kind == "present":
        event = _present(recorder, want, timeout, since)
    elif kind == "started":
        what = f"salt/minion/<id>/start of {_listing(list(want))}"
        event = _each(recorder, want, lambda m: f"salt/minion/{m}/start", what, timeout, since)
    else:
        what = f"salt/job/{jid}/ret/<id> of {_listing(list(want))}"
        event = _each(recorder, want, lambda m: f"salt/job/{jid}/ret/{m}", what, timeout, since)
    return recorder.events.index(event, since) + 1
