"""One deadline for a whole wait: what is left of it, and polling a condition against it.

A wait in saltsim has one deadline, however many steps it takes (read a frame, retry a
connection, look again); each step gets what is left, never its own fresh timeout.
Waiting on an event is done by listening (:meth:`saltsim.client.EventClient.wait_for`);
:meth:`Deadline.poll` is for the few things that announce nothing, such as a port that
starts accepting connections or a file another process writes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

__all__ = ["Deadline"]

T = TypeVar("T")


class Deadline:
    """``seconds`` from now, on the monotonic clock."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.at = time.monotonic() + seconds

    def remaining(self) -> float:
        """Seconds left, never negative."""
        return max(0.0, self.at - time.monotonic())

    def remaining_ms(self) -> int:
        """Milliseconds left, for ZeroMQ's poll (at least 0)."""
        return int(self.remaining() * 1000)

    @property
    def expired(self) -> bool:
        return time.monotonic() >= self.at

    def poll(self, check: Callable[[], T | None], what: str, interval: float = 0.1) -> T:
        """Call ``check`` until it returns something other than None or False; return it.

        Raises :class:`TimeoutError` naming ``what`` when the deadline passes first.
        """
        while True:
            result = check()
            if result is not None and result is not False:
                return result
            if self.expired:
                raise TimeoutError(f"{what}: not within {self.seconds:g}s")
            time.sleep(min(interval, self.remaining()))
