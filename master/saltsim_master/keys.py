"""The master's key store: a PEM file per minion in Salt's pki layout, surviving restarts.

``minions/`` accepted, ``minions_pre/`` pending, ``minions_rejected/`` rejected,
``minions_denied/`` keys presented for an id that already had another key.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

__all__ = ["STATES", "KeyStore", "valid_id"]

STATES = {
    "accepted": "minions",
    "pending": "minions_pre",
    "rejected": "minions_rejected",
    "denied": "minions_denied",
}
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,127}")


def valid_id(minion_id: object) -> bool:
    """Salt refuses ids with path separators, empty ids and absurdly long ones."""
    # fullmatch: with match, "$" also matched before a final newline ("web1\n" passed).
    return isinstance(minion_id, str) and bool(_ID.fullmatch(minion_id)) and ".." not in minion_id


class KeyStore:
    """Keys as files; every method takes an id already checked with ``valid_id``."""

    def __init__(self, pki_dir: str | Path) -> None:
        self.root = Path(pki_dir)
        for folder in STATES.values():
            (self.root / folder).mkdir(parents=True, exist_ok=True)

    def _path(self, state: str, minion_id: str) -> Path:
        return self.root / STATES[state] / minion_id

    def state(self, minion_id: str) -> str | None:
        """Where the id's key is: accepted, pending or rejected (denied is kept aside)."""
        for state in ("accepted", "pending", "rejected"):
            if self._path(state, minion_id).exists():
                return state
        return None

    def pub(self, minion_id: str, state: str | None = None) -> str | None:
        state = state or self.state(minion_id)
        if state is None:
            return None
        try:
            return self._path(state, minion_id).read_text()
        except FileNotFoundError:
            return None

    def put(self, state: str, minion_id: str, pem: str) -> None:
        path = self._path(state, minion_id)
        tmp = path.with_name(f".{minion_id}.tmp")
        tmp.write_text(pem)
        os.replace(tmp, path)

    def move(self, minion_id: str, source: str, target: str) -> bool:
        try:
            os.replace(self._path(source, minion_id), self._path(target, minion_id))
        except FileNotFoundError:
            return False
        return True

    def remove(self, minion_id: str) -> list[str]:
        """Delete the id's key from accepted, pending and rejected; returns where it was."""
        removed = []
        for state in ("accepted", "pending", "rejected"):
            try:
                self._path(state, minion_id).unlink()
                removed.append(state)
            except FileNotFoundError:
                pass
        return removed

    def remove_denied(self, minion_id: str) -> None:
        self._path("denied", minion_id).unlink(missing_ok=True)

    def list(self, state: str) -> list[str]:
        folder = self.root / STATES[state]
        return sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))

    def accepted_count(self) -> int:
        return len(self.list("accepted"))
