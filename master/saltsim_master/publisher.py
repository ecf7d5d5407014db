"""Jobs from publish to returns: targeting, the job events, the cache, waiting for returns.

Registers the client commands ``publish`` (Salt's LocalClient publish: returns the jid
and the targeted minions at once) and ``local`` (publish, then wait for the returns, as
salt-api's ``local`` client), and a tick hook that prunes the job cache (``keep_jobs``).

A listed id with no accepted key is not targeted but ``missing`` (Salt's
``_check_list_minions``, for ``list`` targets and a compound's ``L@`` terms); ``local``
answers for it, and for a targeted minion that did not return in time, with the line
Salt's ``salt`` prints for it (``no_return``; 3008.3 and 3006.29 alike, observed), and
with what Salt's ``LocalClient.cmd``, salt-api's ``local`` client, answers
(``client_return``: there 3006.29 gives a silent targeted minion ``False``, observed).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import Callable
from typing import Any, Protocol

from saltsim.targeting import check_target, match_target
from saltsim_master.context import KeyedCore
from saltsim_master.jobs import Job, JobCache
from saltsim_master.registry import Registry

__all__ = ["NOT_CONNECTED", "Grains", "JobPublisher", "PublishContext", "no_response"]

# What Salt 3008.3's LocalClient reports for a minion that did not return (observed:
# ``salt -L up,down,nokey test.ping``): a minion whose grains are cached but which is not
# connected while others are, and any other (no key, connected but silent).
NOT_CONNECTED = "Minion did not return. [Not connected]"


def no_response(jid: str) -> str:
    return (
        "Minion did not return. [No response]\nThe minions may not have all finished running "
        "and any remaining minions will return upon completion. To look up the return data "
        f"for this job later, run the following command:\n\nsalt-run jobs.lookup_jid {jid}"
    )


def _listed(tgt: Any, tgt_type: str) -> list[str]:
    """The ids a target lists by name: a ``list`` target's, a compound's ``L@`` terms'."""
    if tgt_type == "list":
        return [t.strip() for t in tgt.split(",")] if isinstance(tgt, str) else list(tgt)
    if tgt_type != "compound" or not isinstance(tgt, str):
        return []
    words = [w.strip("()") for w in tgt.split()]
    return [i for w in words if w.startswith("L@") for i in w[2:].split(",") if i]


class PublishContext(KeyedCore, Protocol):
    """What publishing needs of the core: the keyed core, jids and the publish socket."""

    @property
    def make_jid(self) -> Callable[[], str]: ...
    def publish(self, load: dict[str, Any]) -> None: ...


class Grains(Protocol):
    """The grains targeting reads (``grains.GrainCache``)."""

    def get(self, minion_id: str) -> dict[Any, Any]: ...


class JobPublisher:
    """Publishes jobs to the minions the target matches and collects their returns."""

    def __init__(self, ctx: PublishContext, grains: Grains, jobs: JobCache) -> None:
        self.ctx = ctx
        self.grains = grains
        self.jobs = jobs
        self._returned: dict[str, asyncio.Event] = {}

    def register(self, registry: Registry) -> None:
        registry.commands.register("publish", self._publish_command)
        registry.commands.register("local", self._local_command)
        registry.add_tick(self.prune)

    @property
    def job_timeout(self) -> float:
        return self.ctx.config.job_timeout

    # -- targeting ----------------------------------------------------------------------
    def expected_minions(self, tgt: Any, tgt_type: str) -> tuple[list[str], list[str]]:
        """The accepted minions ``tgt`` matches, and (list targets) the listed ids that are
        not accepted; ``TargetError`` for a bad target, whether or not any minion is there."""
        check_target(tgt, tgt_type)
        accepted = self.ctx.keys.list("accepted")
        known = set(accepted)
        # As Salt's _check_list_minions: both lists keep the target's order.
        missing = list(dict.fromkeys(m for m in _listed(tgt, tgt_type) if m not in known))
        if tgt_type == "list":
            listed = _listed(tgt, tgt_type)
            return [m for m in listed if m in known], missing
        minions = [m for m in accepted if match_target(tgt, tgt_type, m, self.grains.get(m))]
        return minions, missing

    # -- publish ------------------------------------------------------------------------
    def publish(self, load: dict[str, Any]) -> dict[str, Any]:
        """Salt's LocalClient publish: events, cache, encrypted load on the PUB socket."""
        ctx = self.ctx
        tgt, tgt_type = load.get("tgt", ""), load.get("tgt_type", "glob")
        fun, arg, user = load.get("fun"), load.get("arg", []), load.get("user", "root")
        if not isinstance(fun, str) or not fun or not isinstance(arg, list):
            raise ValueError("publish needs fun (str) and arg (list)")
        minions, missing = self.expected_minions(tgt, tgt_type)
        if not minions:
            return {"ok": True, "jid": "", "minions": [], "missing": missing}
        jid = ctx.make_jid()
        if ctx.config.dialect == "3006":
            ctx.fire(jid, {"minions": minions})
        new = {"jid": jid, "tgt_type": tgt_type, "tgt": tgt, "user": user, "fun": fun}
        ctx.fire(f"salt/job/{jid}/new", {**new, "arg": arg, "minions": minions, "missing": missing})
        pub_load = {
            "fun": fun,
            "arg": arg,
            "tgt": tgt,
            "jid": jid,
            "ret": "",
            "tgt_type": tgt_type,
            "user": user,
        }
        if ctx.config.dialect == "3008":
            ctx.fire(f"salt/job/{jid}/publish", dict(pub_load))
        start = dt.datetime.now(dt.UTC).strftime("%Y, %b %d %H:%M:%S.%f")
        self.jobs.add(Job(jid, pub_load, minions, start=start))
        ctx.publish(pub_load)
        return {"ok": True, "jid": jid, "minions": minions, "missing": missing}

    async def _publish_command(self, load: dict[str, Any]) -> dict[str, Any]:
        return self.publish(load)

    async def _local_command(self, load: dict[str, Any]) -> dict[str, Any]:
        """Publish, then wait for the returns (``timeout``, default ``job_timeout``):
        ``return`` is ``{minion_id: return}`` of the targeted minions that answered,
        ``retcode`` theirs (0, or the minion's; 1 for a return that says it failed), and
        ``no_return`` Salt's line for each one that did not: the silent targeted minions,
        then the missing ids, each sorted, as Salt reports them; ``client_return`` the
        whole answer of Salt's ``LocalClient.cmd`` in the master's dialect."""
        published = self.publish(load)
        if not published["jid"]:
            empty: dict[str, Any] = {"return": {}, "retcode": {}, "no_return": {}}
            return {**published, **empty, "client_return": {}}
        jid = published["jid"]
        timeout = load.get("timeout")
        wait = self.ctx.config.job_timeout if timeout is None else float(timeout)
        returns = await self.wait_returns(jid, wait)
        answered = [m for m in published["minions"] if m in returns]
        silent = sorted(set(published["minions"]) - set(answered))
        returned = {m: returns[m].get("return") for m in answered}
        missing = {m: no_response(jid) for m in sorted(published["missing"])}
        no_return = {**{m: self._no_return(jid, m) for m in silent}, **missing}
        # LocalClient.cmd: 3008.3 answers with the CLI's lines; 3006.29 with the missing
        # ids' lines, then False for each silent targeted minion (both observed).
        silent_3006 = {m: False for m in silent}
        client_return = (
            {**returned, **missing, **silent_3006}
            if self.ctx.config.dialect == "3006"
            else {**returned, **no_return}
        )
        return {
            **published,
            "return": returned,
            "retcode": {m: _retcode(returns[m]) for m in answered},
            "no_return": no_return,
            "client_return": client_return,
        }

    def _no_return(self, jid: str, minion_id: str) -> str:
        connected = self.ctx.sessions.connected(self.ctx.config.heartbeat_timeout)
        if self.grains.get(minion_id) and connected and minion_id not in connected:
            return NOT_CONNECTED
        return no_response(jid)

    # -- returns ------------------------------------------------------------------------
    def get(self, jid: str) -> Job | None:
        return self.jobs.get(jid)

    def record_return(self, minion_id: str, ret: dict[str, Any]) -> None:
        job = self.jobs.add_return(ret["jid"], minion_id, ret)
        waiter = self._returned.get(ret["jid"])
        if job is not None and waiter is not None and set(job.minions) <= set(job.returns):
            waiter.set()

    async def wait_returns(self, jid: str, timeout: float) -> dict[str, Any]:
        """Returns of a job, waiting until every expected minion answered or ``timeout``."""
        job = self.jobs.get(jid)
        if job is None:
            return {}
        waiter = self._returned.setdefault(jid, asyncio.Event())
        if set(job.minions) <= set(job.returns):
            waiter.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(waiter.wait(), timeout)
        self._returned.pop(jid, None)
        return dict(job.returns)

    def prune(self) -> None:
        """The tick's job cache pruning (the files go in the writer thread)."""
        self.jobs.prune(self.ctx.config.keep_jobs_for)


def _retcode(ret: dict[str, Any]) -> int:
    """A return's exit code as Salt's CLI reads it: ``retcode``, else 1 if not ``success``."""
    code = ret.get("retcode")
    if isinstance(code, int) and not isinstance(code, bool) and code:
        return code
    return 0 if ret.get("success", True) else 1
