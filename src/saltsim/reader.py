"""Salt's SaltEvent reading API, built once on top of ``next_event``.

The local clients (ZeroMQ) and the remote ones (the REST API's ``/events``) differ only
in how the next event arrives; ``get_event``, ``iter_events``, ``wait_for``,
subscriptions and the loss counters are the same, and live here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

from saltsim.errors import EventTimeoutError
from saltsim.event import Event
from saltsim.listener import ListenerCore, ListenerCounters

__all__ = ["AsyncEventReader", "EventReader"]


class _Common:
    """What both readers share: subscriptions, the loss counters, the timeout error."""

    def _listener_core(self) -> ListenerCore:
        raise NotImplementedError

    def _timeout_hint(self) -> str:
        """What to try when ``wait_for`` runs out."""
        return "check the tag, and arm the listener (wait_ready) before acting"

    def _timeout(self, tag: str, timeout: float, match_type: str | None) -> EventTimeoutError:
        return EventTimeoutError(
            f"{match_type or 'startswith'}:{tag!r}",
            timeout,
            self._listener_core().recent_tags(),
            self._timeout_hint(),
        )

    def subscribe(self, tag: str = "", match_type: str | None = None) -> None:
        """Keep events matching ``tag`` while ``get_event`` waits for something else."""
        self._listener_core().subscribe(tag, match_type)

    def unsubscribe(self, tag: str = "", match_type: str | None = None) -> None:
        self._listener_core().unsubscribe(tag, match_type)

    @property
    def counters(self) -> ListenerCounters:
        return self._listener_core().counters

    @property
    def lost(self) -> int:
        """Events the bus published that this listener never saw (gaps in ``_seq``)."""
        return self._listener_core().counters.lost


class EventReader(_Common):
    """Salt's ``SaltEvent`` reading methods for a blocking client.

    A subclass supplies ``next_event`` (how the next event arrives: a ZeroMQ SUB socket,
    a REST stream) and ``_listener_core``; ``get_event``, ``iter_events`` and ``wait_for``
    are built on it, so every client reads alike.
    """

    def next_event(
        self, wait: float = 5, tag: str = "", match_type: str | None = None
    ) -> Event | None:
        raise NotImplementedError

    def get_event(
        self,
        wait: float = 5,
        tag: str = "",
        full: bool = False,
        match_type: str | None = None,
        no_block: bool = False,
    ) -> Any:
        """The next matching event's data (or ``Event`` with ``full=True``), or None."""
        event = self.next_event(0 if no_block else wait, tag, match_type)
        if event is None:
            return None
        return event if full else event.full

    def iter_events(
        self, tag: str = "", full: bool = False, match_type: str | None = None
    ) -> Iterator[Any]:
        """Every matching event, forever; stop by breaking out of the loop."""
        while True:
            event = self.next_event(3600, tag, match_type)
            if event is not None:
                yield event if full else event.full

    def wait_for(self, tag: str, timeout: float = 10, match_type: str | None = None) -> Event:
        """The next matching ``Event``; ``EventTimeoutError`` naming what was seen instead."""
        event = self.next_event(timeout, tag, match_type)
        if event is None:
            raise self._timeout(tag, timeout, match_type)
        return event


class AsyncEventReader(_Common):
    """``EventReader``'s methods as coroutines, for the asyncio clients."""

    async def next_event(
        self, wait: float = 5, tag: str = "", match_type: str | None = None
    ) -> Event | None:
        raise NotImplementedError

    async def get_event(
        self,
        wait: float = 5,
        tag: str = "",
        full: bool = False,
        match_type: str | None = None,
        no_block: bool = False,
    ) -> Any:
        event = await self.next_event(0 if no_block else wait, tag, match_type)
        if event is None:
            return None
        return event if full else event.full

    async def iter_events(
        self, tag: str = "", full: bool = False, match_type: str | None = None
    ) -> AsyncIterator[Any]:
        while True:
            event = await self.next_event(3600, tag, match_type)
            if event is not None:
                yield event if full else event.full

    async def wait_for(self, tag: str, timeout: float = 10, match_type: str | None = None) -> Event:
        event = await self.next_event(timeout, tag, match_type)
        if event is None:
            raise self._timeout(tag, timeout, match_type)
        return event
