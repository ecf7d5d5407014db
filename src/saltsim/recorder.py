"""The event recorder: every event on the master bus, kept from before the action.

A thread reads the bus into an append-only list (with each event's arrival
time), so tests and scenarios can act and then wait on what was recorded with
one deadline, look back at the whole timeline, and write it as JSONL. It works
the same against the local backend and against the docker stack's published
bus port: it only needs the bus addresses.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from saltsim import safejson
from saltsim.bus import BUS_START_TAG
from saltsim.client import READY_TAG, EventClient
from saltsim.curve import CurveClient
from saltsim.deadline import Deadline
from saltsim.errors import EventTimeoutError
from saltsim.event import Event
from saltsim.tags import compile_matcher

__all__ = ["Recorder"]

Predicate = Callable[[Event], bool]
_READ_SLICE = 0.1  # how long the reader blocks before it checks whether to stop


def _describe(event: Event) -> str:
    # safejson: a bytes map key or deep nesting still describes (this is a timeout's message).
    text, _ = safejson.dumps(event.data, other=str, sort_keys=True)
    return f"{event.seq}:{event.tag} {text[:160]}"


class Recorder:
    """Arm with ``start()`` (returns once the bus provably reaches it); a context manager."""

    def __init__(
        self,
        pub_address: str,
        pull_address: str,
        *,
        ready_timeout: float = 30.0,
        curve: CurveClient | None = None,
    ):
        """``curve``: the keys of a bus reached over TCP (``testbed.bus_curve``)."""
        self.pub_address, self.pull_address = pub_address, pull_address
        self.curve = curve
        self.ready_timeout = ready_timeout
        self.events: list[Event] = []
        self.arrivals: list[float] = []  # time.time() when each event was read
        # Index of the first event of each later bus incarnation (``_seq`` went back, or
        # the bus announced itself), for "after the master restarted" questions.
        self.restart_indices: list[int] = []
        self._last_seq: int | None = None
        self._client = EventClient(
            pub_address, pull_address, hwm=200_000, pending_max=200_000, curve=curve
        )
        self._changed = threading.Condition()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    # -- lifecycle ------------------------------------------------------------------
    def start(self) -> Recorder:
        try:
            self._arm()
        except BaseException:
            self._client.close()
            raise
        self._thread = threading.Thread(target=self._read, name="saltsim-recorder", daemon=True)
        self._thread.start()
        return self

    def _arm(self) -> None:
        """Fire probes until one comes back, recording everything read meanwhile (the
        probes too: a recording has no holes in ``_seq``)."""
        probe = f"{READY_TAG}/{uuid.uuid4().hex}"
        deadline = Deadline(self.ready_timeout)
        while not deadline.expired:
            self._client.fire_event({"probe": probe}, probe)
            event = self._client.next_event(0.05)
            while event is not None:
                self._keep(event)
                if event.tag == probe:
                    return
                event = self._client.next_event(0)
        raise EventTimeoutError(
            probe, self.ready_timeout, [], f"is a bus serving {self.pub_address}?"
        )

    def close(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None
        self._client.close()

    def __enter__(self) -> Recorder:
        # ``with Recorder(...).start() as rec`` must not start a second reader: close()
        # would join only one, and the other would read from a closed socket.
        return self if self._thread is not None else self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _read(self) -> None:
        client = self._client
        while not self._stopping.is_set():
            event = client.next_event(_READ_SLICE)
            if event is not None:
                self._keep(event)

    def _keep(self, event: Event) -> None:
        with self._changed:
            restarted = event.tag == BUS_START_TAG or (
                event.seq is not None and self._last_seq is not None and event.seq <= self._last_seq
            )
            if restarted and self.events:
                self.restart_indices.append(len(self.events))
            self._last_seq = event.seq if event.seq is not None else self._last_seq
            self.events.append(event)
            self.arrivals.append(time.time())
            self._changed.notify_all()

    # -- reading --------------------------------------------------------------------
    @property
    def lost(self) -> int:
        """Gaps in ``_seq``: events the bus published that this recorder never saw."""
        return self._client.lost

    @property
    def restarts(self) -> int:
        return self._client.counters.restarts

    def mark(self) -> int:
        """The index the next recorded event will have: wait from here to ignore the past."""
        with self._changed:
            return len(self.events)

    def fire(self, tag: str, data: dict[str, Any], count: int = 1) -> int:
        """Fire ``count`` events onto the bus from the host (the reader thread only
        reads); returns how many the bus took (it stops at the first refusal)."""
        with EventClient(
            self.pub_address, self.pull_address, listen=False, curve=self.curve
        ) as firer:
            for done in range(count):
                if not firer.fire_event(data, tag):
                    return done
            return count

    def wait_for(
        self,
        accept: Predicate | str,
        timeout: float,
        *,
        since: int = 0,
        what: str = "",
        match_type: str | None = None,
    ) -> Event:
        """The first event at index >= ``since`` that ``accept`` takes, within one deadline;
        the timeout names what was recorded instead.

        ``accept`` is a predicate, or a tag matched as ``EventClient.wait_for`` and Salt's
        ``get_event`` match it: by prefix unless ``match_type`` says otherwise
        (``saltsim.tags.MATCH_TYPES``). A tag that must match whole: a predicate, or
        ``match_type="regex"`` with an anchored pattern.
        """
        if isinstance(accept, str):
            matches = compile_matcher(accept, match_type)  # ValueError for a bad match_type
            what = what or f"tag {accept!r} ({match_type or 'startswith'})"

            def accept_tag(event: Event) -> bool:
                return matches(event.tag)

            accept = accept_tag
        elif match_type is not None:
            raise ValueError("match_type applies to a tag, not to a predicate")
        index = since
        deadline = Deadline(timeout)
        with self._changed:
            while True:
                while index < len(self.events):
                    if accept(self.events[index]):
                        return self.events[index]
                    index += 1
                remaining = deadline.remaining()
                if remaining <= 0:
                    break
                self._changed.wait(remaining)
            seen = [_describe(e) for e in self.events[since:] if not e.tag.startswith("saltsim/")]
        raise EventTimeoutError(
            what or getattr(accept, "__name__", "a predicate"),
            timeout,
            seen,
            "the recorded timeline since the action is listed above",
        )

    def wait_restart(self, since: int, timeout: float) -> int:
        """The index of the first event of the next bus incarnation at or after ``since``."""
        deadline = Deadline(timeout)
        with self._changed:
            while True:
                later = [i for i in self.restart_indices if i >= since]
                if later:
                    return later[0]
                remaining = deadline.remaining()
                if remaining <= 0:
                    break
                self._changed.wait(remaining)
        raise EventTimeoutError(
            "a bus restart (_seq going back, or saltsim/bus/start)", timeout, [], ""
        )

    def since(self, index: int) -> list[Event]:
        with self._changed:
            return list(self.events[index:])

    def write_jsonl(self, path: str | Path) -> Path:
        """One JSON object per event: tag, full payload, arrival time."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        with self._changed:
            rows = list(zip(self.events, self.arrivals, strict=True))
        with target.open("w") as out:
            for event, arrived in rows:
                # One odd event (a bytes map key, deep nesting) is written in a safe form;
                # it never costs the rest of the timeline.
                text, _ = safejson.dumps(
                    {"tag": event.tag, "data": event.full, "t": arrived}, other=str
                )
                out.write(text)
                out.write("\n")
        return target
