"""The bridge from a real salt-master's bus to saltsim's frames (runs in the master's container)."""

from __future__ import annotations

__all__: list[str] = []
