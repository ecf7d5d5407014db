"""A persistent cache of swarm minion key pairs, made outside every timed window.

RSA-2048 key generation costs ~50-100 ms a key, so 5,000 keys take minutes: they
are made once, with a small process pool, into ``<cache>/<id>/minion.pem|.pub``
(the layout ``python -m saltsim_minion --swarm`` reads from ``--keys-dir``) and
reused by every later run.
"""

from __future__ import annotations

import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from saltsim.crypto import KeyPair
from saltsim.private import private_dir

__all__ = ["default_keys_dir", "ensure_keys", "missing_keys"]


def default_keys_dir() -> Path:
    """``$XDG_CACHE_HOME/saltsim/swarm-keys`` (``~/.cache/...``): outside the repository."""
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "saltsim" / "swarm-keys"


def _complete(folder: Path) -> bool:
    return (folder / "minion.pem").is_file() and (folder / "minion.pub").is_file()


def missing_keys(keys_dir: Path, ids: list[str]) -> list[str]:
    return [i for i in ids if not _complete(keys_dir / i)]


def _make(folder: str) -> None:
    KeyPair.load_or_create(folder)


def ensure_keys(keys_dir: Path, ids: list[str], workers: int = 2) -> tuple[int, float]:
    """Make every missing key pair; returns ``(made, seconds)``. Prints progress to stderr."""
    todo = missing_keys(keys_dir, ids)
    if not todo:
        return 0, 0.0
    private_dir(keys_dir)  # 0700: these are private keys, even if only a bench's
    began = time.monotonic()
    print(
        f"generating {len(todo)} RSA-2048 key pairs into {keys_dir} "
        f"({workers} workers; once, then cached)",
        file=sys.stderr,
        flush=True,
    )
    folders = [str(keys_dir / i) for i in todo]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        for done, _ in enumerate(pool.map(_make, folders, chunksize=16), start=1):
            if done % 500 == 0 or done == len(folders):
                elapsed = time.monotonic() - began
                print(f"  {done}/{len(folders)} keys, {elapsed:.0f} s", file=sys.stderr, flush=True)
    return len(todo), time.monotonic() - began
