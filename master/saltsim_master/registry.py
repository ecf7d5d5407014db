"""What a part may register with the core: the ``Registry`` protocol and its entries' types.

``MasterCore`` implements it; a part's ``register(registry)`` adds its commands, tick
hooks, sign-in handler or gates, services and stats. Unit tests pass a fake registry.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Protocol

from saltsim_master.commands import CommandTable
from saltsim_master.sessions import Session

__all__ = ["MinionCommand", "Registry", "Service", "SignIn", "SignInGate", "Tick"]

# A request an authenticated minion makes: its session and its (opened) load; the answer.
MinionCommand = Callable[[Session, dict[str, Any]], dict[str, Any]]
# The ``_auth`` handler: the clear load; the answer.
SignIn = Callable[[dict[str, Any]], dict[str, Any]]
# An event a sign-in of that minion id must wait for, or None.
SignInGate = Callable[[Any], "asyncio.Event | None"]
Tick = Callable[[], None]


class Service(Protocol):
    """A part with a listening socket of its own (the REST API): bound at ``start`` (before
    the master reports ready; returns addresses to add), served with the master, closed
    with it."""

    def bind(self, addresses: dict[str, str]) -> dict[str, str]: ...
    async def start(self) -> None: ...
    async def stop(self) -> None: ...
    def close(self) -> None: ...


class Registry(Protocol):
    """The core's tables, as a part registering itself sees them."""

    @property
    def commands(self) -> CommandTable: ...
    def add_minion_command(self, name: str, handler: MinionCommand) -> None: ...
    def on_sign_in(self, handler: SignIn) -> None: ...
    def add_sign_in_gate(self, gate: SignInGate) -> None: ...
    def add_tick(self, hook: Tick) -> None: ...
    def add_service(self, service: Service) -> None: ...
    def add_stats(self, name: str, source: Callable[[], Any]) -> None: ...
