"""The master's one table of client commands, served on the request port and the REST API.

A part registers each command it answers (``publish``, ``local``, ``runner``, ``key``,
``wheel``, ``info``, ``stats``) as an async handler of a load; the request server
dispatches a client request's ``cmd`` through this table, and the REST API's lowstate
clients (``local``, ``runner``, ``wheel``) dispatch their ``client`` through the same
one, so both edges run the same code. A handler returns its answer, ``{"ok": True, ...}``
(the REST clients take its ``return``); for a bad load it raises ``ValueError``,
``TypeError``, ``TargetError`` or ``FrameError``, which each edge turns into its own
refusal. The table knows no part: parts depend on it, never the reverse.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

__all__ = ["Command", "CommandTable", "UnknownCommand"]

Command = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]


class UnknownCommand(LookupError):
    """No part registered a command of that name."""

    def __init__(self, name: object) -> None:
        super().__init__(f"unknown client cmd {name!r}")
        self.name = name


class CommandTable:
    """Command name to handler; the registry of circus's controller, in one small class."""

    def __init__(self) -> None:
        self._handlers: dict[str, Command] = {}

    def register(self, name: str, handler: Command) -> None:
        """Add ``name``; registering a name twice is a wiring bug (``ValueError``)."""
        if name in self._handlers:
            raise ValueError(f"client command {name!r} is registered twice")
        self._handlers[name] = handler

    def names(self) -> list[str]:
        return sorted(self._handlers)

    def __contains__(self, name: object) -> bool:
        return name in self._handlers

    async def dispatch(self, name: object, load: dict[str, Any]) -> dict[str, Any]:
        """The answer of the command ``name`` to ``load``; ``UnknownCommand`` if none."""
        handler = self._handlers.get(name) if isinstance(name, str) else None
        if handler is None:
            raise UnknownCommand(name)
        return await handler(load)
