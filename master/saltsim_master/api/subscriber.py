"""A stream client's side of the hub: the event as JSON once for all, a bounded queue.

A client whose queue is full loses the event (counted for it and through ``on_drop``);
when its queue has room again, it receives ``saltsim/api/dropped`` ``{"dropped": N}``
exactly where the gap is, before the next event it gets. An idle client whose queue has
drained is told at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from saltsim import safejson

__all__ = ["DROPPED_TAG", "Outgoing", "Subscriber"]

DROPPED_TAG = "saltsim/api/dropped"


def _json_default(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return repr(value)


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One event as every client gets it; the JSON is made once for all of them."""

    tag: str
    text: str  # {"data": <payload with _stamp and _seq>, "tag": <tag>}, Salt's full=True

    @classmethod
    def of(cls, tag: str, data: dict[Any, Any]) -> Outgoing:
        return cls.made(tag, data)[0]

    @classmethod
    def made(cls, tag: str, data: dict[Any, Any]) -> tuple[Outgoing, bool]:
        """The event and whether its payload had to be made safe (a bytes map key, nesting
        deeper than JSON recurses): such an event is still sent, in ``safejson``'s form."""
        text, made_safe = safejson.dumps({"data": data, "tag": tag}, other=_json_default)
        return cls(tag, text), made_safe

    @classmethod
    def dropped(cls, count: int) -> Outgoing:
        return cls.of(DROPPED_TAG, {"dropped": count})


class Subscriber:
    """A client's bounded queue, what it lost, and how to end its stream."""

    def __init__(
        self, kind: str, token: str, user: str, peer: str, size: int, on_drop: Callable[[], None]
    ) -> None:
        self.kind, self.token, self.user, self.peer = kind, token, user, peer
        self.queue: asyncio.Queue[Outgoing] = asyncio.Queue(size)
        self.dropped = 0
        self.probes = False  # also receives the probe events (``?probes=true``)
        self.ended = ""
        self._unreported = 0
        self._on_drop = on_drop
        self._stop: Callable[[], None] | None = None

    def offer(self, out: Outgoing) -> None:
        queue = self.queue
        if self._unreported:
            if queue.maxsize - queue.qsize() < 2:  # room for the notice and the event
                self._drop()
                return
            queue.put_nowait(Outgoing.dropped(self._unreported))
            self._unreported = 0
        elif queue.full():
            self._drop()
            return
        queue.put_nowait(out)

    def _drop(self) -> None:
        self.dropped += 1
        self._unreported += 1
        self._on_drop()

    async def next(self) -> Outgoing:
        if self.queue.empty() and self._unreported:
            count, self._unreported = self._unreported, 0
            return Outgoing.dropped(count)
        return await self.queue.get()

    def on_end(self, stop: Callable[[], None]) -> None:
        self._stop = stop

    def end(self, reason: str) -> None:
        """Make the stream finish (token gone, master stopping) even if it is blocked."""
        self.ended = self.ended or reason
        if self._stop is not None:
            self._stop()

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "user": self.user,
            "peer": self.peer,
            "queued": self.queue.qsize(),
            "dropped": self.dropped,
        }
