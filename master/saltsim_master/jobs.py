"""Jobs: Salt-style jids, who a target expects, and the job cache.

A jid is the 20-digit ``YYYYmmddHHMMSSffffff`` of the publish time, made
unique per master by stepping a microsecond past the last one when needed.
The cache keeps each job's load and returns in memory and as one JSON file per
jid in ``cachedir/jobs``, so ``jobs.lookup_jid`` survives a master restart.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["JidMaker", "Job", "JobCache"]

_JID_FORMAT = "%Y%m%d%H%M%S%f"


class JidMaker:
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
    jid: str
    load: dict[str, Any]
    minions: list[str]
    returns: dict[str, Any] = field(default_factory=dict)
    start: str = ""

    def as_json(self) -> dict[str, Any]:
        return {
            "jid": self.jid,
            "load": self.load,
            "minions": self.minions,
            "returns": self.returns,
            "start": self.start,
        }


class JobCache:
    def __init__(self, cachedir: str | Path) -> None:
        self.folder = Path(cachedir) / "jobs"
        self.folder.mkdir(parents=True, exist_ok=True)
        self._jobs: dict[str, Job] = {}

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
        if job is None and jid.isdigit():
            path = self.folder / f"{jid}.json"
            if path.exists():
                raw = json.loads(path.read_text())
                job = Job(raw["jid"], raw["load"], raw["minions"], raw["returns"], raw["start"])
                self._jobs[jid] = job
        return job

    def jids(self) -> list[str]:
        on_disk = {p.stem for p in self.folder.glob("*.json")}
        return sorted(on_disk | set(self._jobs))

    def _write(self, job: Job) -> None:
        path = self.folder / f"{job.jid}.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(job.as_json(), default=repr))
        os.replace(tmp, path)
