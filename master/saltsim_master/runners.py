"""Master-side runners (``saltsim run``), named and shaped as Salt's.

``manage.status`` really pings: it publishes ``test.ping`` to ``*`` and waits,
so its job's events appear between the runner's ``new`` and ``ret``, as in Salt.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from saltsim_master.cloud import CLOUD_RUNNERS
from saltsim_master.errors import RunnerError

if TYPE_CHECKING:
    from saltsim_master.master import Master

__all__ = ["RUNNERS", "RunnerError", "run_runner"]

Runner = Callable[..., Awaitable[Any]]


async def _status(master: Master, timeout: float | None = None) -> dict[str, list[str]]:
    published = master.publish({"tgt": "*", "tgt_type": "glob", "fun": "test.ping", "arg": []})
    if not published["jid"]:
        return {"up": [], "down": []}
    wait = master.config.job_timeout if timeout is None else float(timeout)
    returns = await master.wait_returns(published["jid"], wait)
    up = sorted(returns)
    return {"up": up, "down": sorted(set(published["minions"]) - set(up))}


async def manage_status(master: Master, timeout: float | None = None) -> dict[str, list[str]]:
    return await _status(master, timeout)


async def manage_up(master: Master, timeout: float | None = None) -> list[str]:
    return (await _status(master, timeout))["up"]


async def manage_down(master: Master, timeout: float | None = None) -> list[str]:
    return (await _status(master, timeout))["down"]


async def manage_present(master: Master) -> list[str]:
    return sorted(master.connected())


async def manage_not_present(master: Master) -> list[str]:
    return sorted(set(master.keys.list("accepted")) - master.connected())


async def jobs_list_jobs(master: Master) -> dict[str, dict[str, Any]]:
    # Reading a cache of thousands of job files takes a while: off the loop, which keeps
    # serving requests meanwhile.
    known = master.jobs.snapshot()
    jobs = await asyncio.get_running_loop().run_in_executor(None, master.jobs.read_all, known)
    listing = {}
    for job in jobs:
        listing[job.jid] = {
            "Function": job.load.get("fun"),
            "Arguments": job.load.get("arg", []),
            "Target": job.load.get("tgt"),
            "Target-type": job.load.get("tgt_type"),
            "User": job.load.get("user"),
            "StartTime": job.start,
        }
    return listing


async def jobs_lookup_jid(master: Master, jid: str) -> dict[str, Any]:
    job = master.jobs.get(str(jid))
    if job is None:
        return {}
    return {minion: ret.get("return") for minion, ret in job.returns.items()}


async def jobs_list_job(master: Master, jid: str) -> dict[str, Any]:
    """One job's description and returns (salt-api's ``GET /jobs/<jid>`` uses it)."""
    job = master.jobs.get(str(jid))
    if job is None:
        return {"jid": str(jid), "Result": {}, "Error": "no job with this jid"}
    return {
        "jid": job.jid,
        "Function": job.load.get("fun"),
        "Arguments": job.load.get("arg", []),
        "Target": job.load.get("tgt"),
        "Target-type": job.load.get("tgt_type"),
        "User": job.load.get("user"),
        "StartTime": job.start,
        "Minions": job.minions,
        "Result": {minion: {"return": ret.get("return")} for minion, ret in job.returns.items()},
    }


async def test_sleep(master: Master, length: float = 1) -> bool:
    await asyncio.sleep(float(length))
    return True


async def test_arg(master: Master, *args: Any, **kwargs: Any) -> dict[str, Any]:
    return {"args": list(args), "kwargs": kwargs}


async def test_raise(master: Master, message: str = "raised on request") -> None:
    raise RunnerError(message)


async def error_error(master: Master, name: str | None = None, message: str = "") -> Any:
    """Salt's ``error.error`` runner (there since 2015, in 3006 and 3008): ``{}`` without a
    name, else it raises the exception ``name`` with ``message``; the runner's ret is then
    ``success: false, retcode: 1``. Real Salt has no ``test.raise`` runner."""
    if name is None:
        return {}
    raise RunnerError(f"Exception occurred in runner error.error: {name}: {message}")


RUNNERS: dict[str, Runner] = {
    "error.error": error_error,
    "manage.status": manage_status,
    "manage.up": manage_up,
    "manage.down": manage_down,
    "manage.present": manage_present,
    "manage.not_present": manage_not_present,
    "jobs.list_jobs": jobs_list_jobs,
    "jobs.lookup_jid": jobs_lookup_jid,
    "jobs.list_job": jobs_list_job,
    "test.sleep": test_sleep,
    "test.arg": test_arg,
    "test.raise": test_raise,
    **CLOUD_RUNNERS,
}


async def run_runner(master: Master, fun: str, arg: list[Any], kwarg: dict[str, Any]) -> Any:
    runner = RUNNERS.get(fun)
    if runner is None:
        raise RunnerError(f"'{fun}' is not available.")
    try:
        return await runner(master, *arg, **kwarg)
    except TypeError as exc:
        raise RunnerError(f"{fun}: {exc}") from exc
