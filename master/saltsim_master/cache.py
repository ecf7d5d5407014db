"""The master's caches on disk (grains, jobs): one msgpack map per file, written atomically.

msgpack holds any value a minion can send (bytes map keys, integer keys, bytes values),
where JSON raised on a bytes key and recursed out on deep nesting, ending the master.
A write goes to a private temporary file beside the target and is renamed over it, so
a reader (or the next start) sees the old file or the new one, never half of one. A file
that cannot be read back (empty, truncated, not msgpack) is skipped with a warning: a
bad cache file costs that entry, never the master's start.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path
from typing import Any

from saltsim.errors import FrameError
from saltsim.wire import decode_data, encode_data

__all__ = ["SUFFIX", "load_all", "pack", "read", "write_atomic"]

log = logging.getLogger(__name__)

SUFFIX = ".p"  # Salt's suffix for its msgpack cache files


def pack(value: dict[Any, Any]) -> bytes:
    """The file's bytes; ``FrameError`` for what msgpack cannot hold (deeper than 511)."""
    return encode_data(value)


def write_atomic(path: Path, data: bytes) -> bool:
    """Write ``data`` to ``path`` through a 0600 temporary file and a rename; False (and
    logged) when the disk said no, so a full disk costs the cache, not the caller."""
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        log.error("could not write %s: %s", path, exc)
        return False
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except OSError as exc:
        log.error("could not write %s: %s", path, exc)
        Path(tmp).unlink(missing_ok=True)
        return False
    return True


def read(path: Path) -> dict[Any, Any] | None:
    """The map in ``path``, or None with a warning when it is missing or unreadable."""
    try:
        return decode_data(path.read_bytes())
    except (OSError, FrameError) as exc:
        log.warning("skipped the cache file %s, which cannot be read: %s", path, exc)
        return None


def load_all(folder: Path) -> dict[str, dict[Any, Any]]:
    """Every readable cache file in ``folder`` by name (without the suffix)."""
    loaded = {}
    for path in sorted(folder.glob(f"*{SUFFIX}")):
        value = read(path)
        if value is not None:
            loaded[path.stem] = value
    return loaded
