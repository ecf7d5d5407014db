"""The transport-free heart of a listener, shared by the sync and async clients.

It turns frames into ``Event`` objects, counts malformed frames and gaps in
``_seq``, and keeps Salt's pending-event queue: while a caller waits for one
tag, events that match a subscribed tag are kept (bounded) instead of dropped.
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass

from saltsim.errors import FrameError
from saltsim.event import Event
from saltsim.tags import Matcher, compile_matcher

__all__ = ["ListenerCore", "ListenerCounters"]

log = logging.getLogger(__name__)


@dataclass
class ListenerCounters:
    """What a listener knows it missed: never silent."""

    received: int = 0
    lost: int = 0
    bad_frames: int = 0
    restarts: int = 0
    dropped_pending: int = 0


class ListenerCore:
    """Frame → Event, ``_seq`` gap accounting, subscriptions and the pending queue."""

    def __init__(self, pending_max: int = 10_000) -> None:
        self.counters = ListenerCounters()
        self.last_seq: int | None = None
        self._subs: dict[tuple[str, str], Matcher] = {}
        self._pending: deque[Event] = deque()
        self._pending_max = pending_max
        self._logged_bad = False
        self._recent: deque[str] = deque(maxlen=50)

    # -- subscriptions -------------------------------------------------------------
    def subscribe(self, tag: str = "", match_type: str | None = None) -> None:
        key = (tag, match_type or "startswith")
        if key not in self._subs:
            self._subs[key] = compile_matcher(tag, match_type)

    def unsubscribe(self, tag: str = "", match_type: str | None = None) -> None:
        self._subs.pop((tag, match_type or "startswith"), None)
        self._pending = deque(e for e in self._pending if self._wanted(e.tag))

    def _wanted(self, tag: str) -> bool:
        return any(match(tag) for match in self._subs.values())

    # -- frames --------------------------------------------------------------------
    def decode(self, frame: bytes) -> Event | None:
        """Decode one frame and account for its ``_seq``; ``None`` for a bad frame."""
        try:
            event = Event.from_frame(frame)
        except FrameError as exc:
            self.count_bad(exc)
            return None
        return self.admit(event)

    def count_bad(self, problem: Exception) -> None:
        """Count one malformed frame (or stream message); log only the first."""
        self.counters.bad_frames += 1
        if not self._logged_bad:
            self._logged_bad = True
            log.warning(
                "listener dropped a malformed frame: %s; further ones only counted", problem
            )

    def admit(self, event: Event) -> Event:
        """Count an event decoded elsewhere (a remote stream) and account for its ``_seq``."""
        self.counters.received += 1
        self._recent.append(event.tag)
        self._account(event)
        return event

    def _account(self, event: Event) -> None:
        seq, last = event.seq, self.last_seq
        if seq is None:
            return
        if last is not None:
            if seq > last + 1:
                self.counters.lost += seq - last - 1
            elif seq <= last:
                # _seq never goes backwards on one bus: this is a restarted bus, which
                # announced itself as _seq 1; whatever came before this one was missed.
                self.counters.restarts += 1
                self.counters.lost += seq - 1
        self.last_seq = seq

    def accept(self, frame: bytes, match: Matcher) -> Event | None:
        """Decode ``frame``; return it if ``match`` wants it, else keep or drop it."""
        event = self.decode(frame)
        if event is None or not self.offer(event, match):
            return None
        return event

    # -- pending queue -------------------------------------------------------------
    def take_pending(self, match: Matcher) -> Event | None:
        """The oldest kept event that ``match`` accepts, removed from the queue."""
        for index, event in enumerate(self._pending):
            if match(event.tag):
                del self._pending[index]
                return event
        return None

    def offer(self, event: Event, match: Matcher) -> bool:
        """True if the caller should return ``event``; otherwise keep it if subscribed."""
        if match(event.tag):
            return True
        if self._subs and self._wanted(event.tag):
            if len(self._pending) >= self._pending_max:
                self.counters.dropped_pending += 1
                if not self._pending:
                    return False
                self._pending.popleft()
            self._pending.append(event)
        return False

    def recent_tags(self) -> list[str]:
        """Tags of the last events received, oldest first, for timeout diagnostics."""
        return list(self._recent)

    @property
    def pending(self) -> int:
        return len(self._pending)
