"""The part of the core that several parts see: settings, keys, sessions and ``fire``.

Each part declares the narrow Protocol it needs; the ones that need these four build on
:class:`KeyedCore` and add what else they use. The core satisfies them all.
"""

from __future__ import annotations

from typing import Any, Protocol

from saltsim_master.config import MasterConfig
from saltsim_master.keys import KeyStore
from saltsim_master.sessions import Sessions

__all__ = ["KeyedCore"]


class KeyedCore(Protocol):
    """The settings, the key store, the minions' sessions, and firing an event."""

    @property
    def config(self) -> MasterConfig: ...
    @property
    def keys(self) -> KeyStore: ...
    @property
    def sessions(self) -> Sessions: ...
    def fire(self, tag: str, data: dict[str, Any]) -> None: ...
