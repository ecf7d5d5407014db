"""The master's own runners, named and shaped as Salt's: ``manage.*``, ``jobs.*``, ``test.*``
and ``error.error``, in three groups by the part each needs.

``manage.status`` really pings: it publishes ``test.ping`` to ``*`` and waits, so its
job's events appear between the runner's ``new`` and ``ret``, as in Salt.
"""

from __future__ import annotations

import asyncio
from typing import Any, Protocol

from saltsim_master.errors import RunnerError
from saltsim_master.jobs import JobCache
from saltsim_master.runners import RunnerGroup

__all__ = [
    "JOB_RUNNERS",
    "PLAIN_RUNNERS",
    "PRESENCE_RUNNERS",
    "JobRunnerContext",
    "PresenceRunnerContext",
]


class JobRunnerContext(Protocol):
    """The job publisher, as ``manage.status`` and ``jobs.*`` use it."""

    @property
    def jobs(self) -> JobCache: ...
    @property
    def job_timeout(self) -> float: ...
    def publish(self, load: dict[str, Any]) -> dict[str, Any]: ...
    async def wait_returns(self, jid: str, timeout: float) -> dict[str, Any]: ...


class PresenceRunnerContext(Protocol):
    """Presence, as ``manage.present`` and ``manage.not_present`` use it."""

    def connected(self) -> set[str]: ...
    def accepted(self) -> list[str]: ...


JOB_RUNNERS = RunnerGroup[JobRunnerContext]()
PRESENCE_RUNNERS = RunnerGroup[PresenceRunnerContext]()
PLAIN_RUNNERS = RunnerGroup[None]()  # they need no part


async def _status(ctx: JobRunnerContext, timeout: float | None) -> dict[str, list[str]]:
    published = ctx.publish({"tgt": "*", "tgt_type": "glob", "fun": "test.ping", "arg": []})
    if not published["jid"]:
        return {"up": [], "down": []}
    wait = ctx.job_timeout if timeout is None else float(timeout)
    returns = await ctx.wait_returns(published["jid"], wait)
    up = sorted(returns)
    return {"up": up, "down": sorted(set(published["minions"]) - set(up))}


@JOB_RUNNERS.runner("manage.status")
async def manage_status(
    ctx: JobRunnerContext, timeout: float | None = None
) -> dict[str, list[str]]:
    return await _status(ctx, timeout)


@JOB_RUNNERS.runner("manage.up")
async def manage_up(ctx: JobRunnerContext, timeout: float | None = None) -> list[str]:
    return (await _status(ctx, timeout))["up"]


@JOB_RUNNERS.runner("manage.down")
async def manage_down(ctx: JobRunnerContext, timeout: float | None = None) -> list[str]:
    return (await _status(ctx, timeout))["down"]


@PRESENCE_RUNNERS.runner("manage.present")
async def manage_present(ctx: PresenceRunnerContext) -> list[str]:
    return sorted(ctx.connected())


@PRESENCE_RUNNERS.runner("manage.not_present")
async def manage_not_present(ctx: PresenceRunnerContext) -> list[str]:
    return sorted(set(ctx.accepted()) - ctx.connected())


def _describe(load: dict[str, Any], start: str) -> dict[str, Any]:
    return {
        "Function": load.get("fun"),
        "Arguments": load.get("arg", []),
        "Target": load.get("tgt"),
        "Target-type": load.get("tgt_type"),
        "User": load.get("user"),
        "StartTime": start,
    }


@JOB_RUNNERS.runner("jobs.list_jobs")
async def jobs_list_jobs(ctx: JobRunnerContext) -> dict[str, dict[str, Any]]:
    # Reading a cache of thousands of job files takes a while: off the loop, which keeps
    # serving requests meanwhile.
    known = ctx.jobs.snapshot()
    jobs = await asyncio.get_running_loop().run_in_executor(None, ctx.jobs.read_all, known)
    return {job.jid: _describe(job.load, job.start) for job in jobs}


@JOB_RUNNERS.runner("jobs.lookup_jid")
async def jobs_lookup_jid(ctx: JobRunnerContext, jid: str) -> dict[str, Any]:
    job = ctx.jobs.get(str(jid))
    if job is None:
        return {}
    return {minion: ret.get("return") for minion, ret in job.returns.items()}


@JOB_RUNNERS.runner("jobs.list_job")
async def jobs_list_job(ctx: JobRunnerContext, jid: str) -> dict[str, Any]:
    """One job's description and returns (salt-api's ``GET /jobs/<jid>`` uses it)."""
    job = ctx.jobs.get(str(jid))
    if job is None:
        return {"jid": str(jid), "Result": {}, "Error": "no job with this jid"}
    return {
        "jid": job.jid,
        **_describe(job.load, job.start),
        "Minions": job.minions,
        "Result": {minion: {"return": ret.get("return")} for minion, ret in job.returns.items()},
    }


@PLAIN_RUNNERS.runner("test.sleep")
async def test_sleep(ctx: None, length: float = 1) -> bool:
    await asyncio.sleep(float(length))
    return True


@PLAIN_RUNNERS.runner("test.arg")
async def test_arg(ctx: None, *args: Any, **kwargs: Any) -> dict[str, Any]:
    return {"args": list(args), "kwargs": kwargs}


@PLAIN_RUNNERS.runner("test.raise")
async def test_raise(ctx: None, message: str = "raised on request") -> None:
    raise RunnerError(message)


@PLAIN_RUNNERS.runner("error.error")
async def error_error(ctx: None, name: str | None = None, message: str = "") -> Any:
    """Salt's ``error.error`` runner (there since 2015, in 3006 and 3008): ``{}`` without a
    name, else it raises the exception ``name`` with ``message``; the runner's ret is then
    ``success: false, retcode: 1``. Real Salt has no ``test.raise`` runner."""
    if name is None:
        return {}
    raise RunnerError(f"Exception occurred in runner error.error: {name}: {message}")
