"""Jobs: Salt-style jids, who a target expects, and the job cache.

A jid is the 20-digit ``YYYYmmddHHMMSSffffff`` of the publish time, made
unique per master by stepping a microsecond past the last one when needed.
The cache keeps each job's load and returns in memory and as one msgpack file per
jid in ``cachedir/jobs`` (``cache.py``), so ``jobs.lookup_jid`` survives a master
restart. Files are written behind by the cache writer thread, in order; jobs older
than Salt's ``keep_jobs`` are pruned, the files by that same thread.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from saltsim.errors import FrameError
from saltsim_master import cache

__all__ = ["JidMaker", "Job", "JobCache"]

log = logging.getLogger(__name__)

_JID_FORMAT = "%Y%m%d%H%M%S%f"


class JidMaker:
    """Makes the master's jids: the publish time, always after the last one made."""

    def __init__(self) -> None:
        self._last = 0

    def __call__(self, now: dt.datetime | None = None) -> str:
        now = now or dt.datetime.now(dt.UTC)
        jid = int(now.strftime(_JID_FORMAT))
        if jid <= self._last:
            jid = self._last + 1
        self._last = jid
        return str(jid)


@dataclass
class Job:
    """A published job: its load, the minions it targeted, their returns so far."""

    jid: str
    load: dict[str, Any]
    minions: list[str]
    returns: dict[str, Any] = field(default_factory=dict)
    start: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "jid": self.jid,
            "load": self.load,
            "minions": self.minions,
            "returns": self.returns,
            "start": self.start,
        }

    @classmethod
    def from_dict(cls, raw: dict[Any, Any]) -> Job:
        return cls(raw["jid"], raw["load"], raw["minions"], raw["returns"], raw["start"])


class _Inline(Executor):
    """Writes done at once, for a cache without a writer thread (tests, tools)."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        fn(*args, **kwargs)


class JobCache:
    """Jobs by jid, in memory and one msgpack file each under ``cachedir/jobs``."""

    def __init__(self, cachedir: str | Path, writer: Executor | None = None) -> None:
        self.folder = Path(cachedir) / "jobs"
        self.folder.mkdir(parents=True, exist_ok=True)
        self._jobs: dict[str, Job] = {}
        self._writer = writer or _Inline()

    def add(self, job: Job) -> None:
        self._jobs[job.jid] = job
        self._write(job)

    def add_return(self, jid: str, minion_id: str, ret: dict[str, Any]) -> Job | None:
        job = self.get(jid)
        if job is None:
            return None
        job.returns[minion_id] = ret
        self._write(job)
        return job

    def get(self, jid: str) -> Job | None:
        job = self._jobs.get(jid)
        if job is None:
            job = self.read(jid)
            if job is not None:
                self._jobs[jid] = job
        return job

    def read(self, jid: str) -> Job | None:
        """The job from its file alone (safe off the loop: it changes nothing here)."""
        if not jid.isdigit():
            return None
        path = self.folder / f"{jid}{cache.SUFFIX}"
        if not path.exists():
            return None
        raw = cache.read(path)
        try:
            return None if raw is None else Job.from_dict(raw)
        except (KeyError, TypeError) as exc:
            log.warning("skipped the job cache file %s: %r", path, exc)
            return None

    def jids(self) -> list[str]:
        on_disk = {p.stem for p in self.folder.glob(f"*{cache.SUFFIX}")}
        return sorted(on_disk | set(self._jobs))

    def snapshot(self) -> dict[str, Job]:
        """The jobs in memory now, for ``read_all`` in another thread."""
        return dict(self._jobs)

    def read_all(self, known: dict[str, Job]) -> list[Job]:
        """Every job, ``known`` ones from memory, the rest from disk: run it off the loop,
        a cache of thousands of jobs takes a while to read."""
        on_disk = {p.stem for p in self.folder.glob(f"*{cache.SUFFIX}")}
        jobs = []
        for jid in sorted(on_disk | set(known)):
            job = known.get(jid) or self.read(jid)
            if job is not None:
                jobs.append(job)
        return jobs

    def prune(self, keep_seconds: float, now: dt.datetime | None = None) -> None:
        """Forget jobs older than ``keep_seconds`` (0: keep for ever), as Salt's
        ``keep_jobs``: from memory at once, from disk in the writer thread, after the
        writes already queued."""
        if keep_seconds <= 0:
            return
        cutoff = (now or dt.datetime.now(dt.UTC)) - dt.timedelta(seconds=keep_seconds)
        oldest_kept = int(cutoff.strftime(_JID_FORMAT))
        for jid in [jid for jid in self._jobs if int(jid) < oldest_kept]:
            del self._jobs[jid]
        self._writer.submit(self._prune_files, oldest_kept)

    def _prune_files(self, oldest_kept: int) -> int:
        removed = 0
        for path in self.folder.glob(f"*{cache.SUFFIX}"):
            if path.stem.isdigit() and int(path.stem) < oldest_kept:
                path.unlink(missing_ok=True)
                removed += 1
        if removed:
            log.info("job cache: removed %d jobs past keep_jobs", removed)
        return removed

    def _write(self, job: Job) -> None:
        # Packed here, on the caller's thread, so the writer never sees a job being changed.
        try:
            data = cache.pack(job.as_dict())
        except FrameError as exc:
            log.warning("job %s is kept in memory only: %s", job.jid, exc)
            return
        self._writer.submit(cache.write_atomic, self.folder / f"{job.jid}{cache.SUFFIX}", data)
