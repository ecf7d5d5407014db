"""One exception root for saltsim; each subclass also inherits the matching builtin."""

from __future__ import annotations

__all__ = ["ConfigError", "EventTimeoutError", "FrameError", "SaltsimError", "UsageError"]


class SaltsimError(Exception):
    """Root of every error saltsim raises on purpose."""


class FrameError(SaltsimError, ValueError):
    """A frame or payload that cannot be an event (empty tag, non-dict data, bad msgpack)."""


class ConfigError(SaltsimError, ValueError):
    """A configuration value, file or environment variable that cannot be used."""


class UsageError(SaltsimError, ValueError):
    """A command-line argument that cannot be used; the CLI exits 2 with the message."""


class EventTimeoutError(SaltsimError, TimeoutError):
    """An awaited event did not arrive before its deadline.

    The message names what was awaited, for how long, what was seen instead and
    what to try next, so a failing test reads as a diagnosis.
    """

    def __init__(self, awaited: str, waited: float, seen: list[str], hint: str = "") -> None:
        self.awaited = awaited
        self.waited = waited
        self.seen = seen
        shown = ", ".join(seen[-10:]) if seen else "nothing"
        more = f" (last 10 of {len(seen)})" if len(seen) > 10 else ""
        msg = f"no event matching {awaited} within {waited:.2f}s; seen instead{more}: {shown}"
        if hint:
            msg += f". {hint}"
        super().__init__(msg)
