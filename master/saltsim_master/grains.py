"""The minions' grains, for targeting: in memory, and on disk for the next start.

Each minion's grains come with its ``_pillar`` request (``minionreq.py``) and are read by
targeting (``publisher.py``). On disk they are one msgpack file per minion in
``cachedir/grains`` (``cache.py``), written behind by the master's cache writer thread;
an unreadable file is skipped with a warning.
"""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import Executor
from pathlib import Path
from typing import Any

from saltsim.errors import FrameError
from saltsim_master import cache
from saltsim_master.reqserver import Refused

__all__ = ["GrainCache"]


class GrainCache:
    """Grains by minion id, loaded from ``cachedir/grains`` at start."""

    def __init__(self, cachedir: str | Path, writer: Executor) -> None:
        self.folder = Path(cachedir) / "grains"
        self.folder.mkdir(parents=True, exist_ok=True)
        self._writer = writer
        self._grains: dict[str, dict[Any, Any]] = cache.load_all(self.folder)

    @property
    def all(self) -> Mapping[str, dict[Any, Any]]:
        return self._grains

    def get(self, minion_id: str) -> dict[Any, Any]:
        return self._grains.get(minion_id, {})

    def save(self, minion_id: str, grains: dict[Any, Any]) -> None:
        """Keep a minion's grains (any msgpack value; ``Refused`` for grains nested deeper
        than msgpack writes)."""
        try:
            data = cache.pack(grains)
        except FrameError as exc:
            raise Refused("bad grains", f"grains cannot be cached: {exc}") from exc
        self._grains[minion_id] = grains
        self._writer.submit(cache.write_atomic, self.folder / f"{minion_id}{cache.SUFFIX}", data)
