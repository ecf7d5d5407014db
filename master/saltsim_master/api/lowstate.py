"""``POST /``: lowstate chunks run through the ``local``, ``local_async``, ``runner`` and
``wheel`` clients.

Every chunk is checked before any runs, so a bad one (400) has no side effects. As in
salt-api: ``local`` publishes and returns ``{minion_id: return}`` within ``timeout``
(default ``job_timeout``), a targeted minion that did not answer in time as ``false``
(LocalClient.cmd's way), ``{}`` when nothing matched; ``local_async`` publishes and
returns ``{"jid", "minions"}`` at once (``{}`` when nothing matched), the returns then
at ``GET /jobs/<jid>``; ``runner`` returns the runner's return; ``wheel`` returns
``{"tag", "data"}`` with the result in ``data.return``. Keys of a runner or wheel chunk
that are not lowstate's own are keyword arguments, as salt-api passes them.
"""

from __future__ import annotations

from typing import Any

from saltsim.errors import FrameError
from saltsim.masterclient import MasterClient
from saltsim.targeting import TargetError
from saltsim_master.api.errors import BadRequest
from saltsim_master.commands import CommandTable, UnknownCommand

__all__ = ["CLIENTS", "Lowstate", "chunks_of"]

CLIENTS = ("local", "local_async", "runner", "wheel")
_TARGETED = ("local", "local_async")
_REFUSED = (TargetError, FrameError, ValueError, TypeError, UnknownCommand)
_OWN = {
    "client",
    "fun",
    "arg",
    "kwarg",
    "tgt",
    "tgt_type",
    "expr_form",
    "timeout",
    "token",
    "username",
    "password",
    "eauth",
    "full_return",
}


def _check(index: int, chunk: Any) -> dict[str, Any]:
    where = f"lowstate chunk {index}"
    if not isinstance(chunk, dict):
        raise BadRequest(f"{where} is {type(chunk).__name__}, not an object")
    client = chunk.get("client")
    if client not in CLIENTS:  # salt-api's words, then what saltsim serves
        raise BadRequest(
            f"{where}: Invalid client specified: '{client}' (saltsim's API serves "
            f"{', '.join(CLIENTS)})"
        )
    fun = chunk.get("fun")
    if not isinstance(fun, str) or not fun:
        raise BadRequest(f"{where}: fun must be a function name such as test.ping")
    arg = chunk.get("arg", [])
    kwarg = chunk.get("kwarg", {})
    if not isinstance(kwarg, dict):
        raise BadRequest(f"{where}: kwarg must be an object")
    if client in _TARGETED and chunk.get("tgt") in (None, ""):
        raise BadRequest(f"{where}: the {client} client needs tgt")
    timeout = chunk.get("timeout")
    if timeout is not None:
        try:
            timeout = float(timeout)
        except (TypeError, ValueError):
            raise BadRequest(f"{where}: timeout must be a number of seconds") from None
    extra = {k: v for k, v in chunk.items() if k not in _OWN and not k.startswith("__")}
    return {
        **chunk,
        "arg": arg if isinstance(arg, list) else [arg],  # form data: one arg is a string
        "kwarg": {**kwarg, **extra} if client not in _TARGETED else kwarg,
        "timeout": timeout,
    }


def chunks_of(data: Any) -> list[dict[str, Any]]:
    """The checked chunks of a body: a list of objects, or one object (form data)."""
    if data is None or data == "":
        raise BadRequest('no lowstate: send [{"client": "local", "tgt": "*", "fun": ...}]')
    listed = data if isinstance(data, list) else [data]
    if not listed:
        raise BadRequest("the lowstate list is empty")
    return [_check(index, chunk) for index, chunk in enumerate(listed)]


class Lowstate:
    """Runs checked chunks through the core's command table: the ``local`` client is the
    ``local`` command, ``local_async`` the ``publish`` command, ``runner`` and ``wheel``
    theirs."""

    def __init__(self, commands: CommandTable) -> None:
        self.commands = commands

    async def run(self, chunk: dict[str, Any], user: str) -> Any:
        try:
            if chunk["client"] == "local":
                return await self.local(chunk, user)
            if chunk["client"] == "local_async":
                return await self.local_async(chunk, user)
            if chunk["client"] == "runner":
                reply = await self.runner(chunk["fun"], chunk["arg"], chunk["kwarg"], user)
                return reply["return"]
            return await self.wheel(chunk["fun"], chunk["arg"], chunk["kwarg"], user)
        except _REFUSED as exc:
            raise BadRequest(f"{chunk['client']} {chunk['fun']}: {exc}") from None

    async def runner(
        self, fun: str, arg: list[Any], kwarg: dict[str, Any], user: str
    ) -> dict[str, Any]:
        """The ``runner`` command's answer (``jid``, ``return``, ``success``)."""
        load = {"fun": fun, "arg": arg, "kwarg": kwarg, "user": user}
        return await self.commands.dispatch("runner", load)

    async def wheel(
        self, fun: str, arg: list[Any], kwarg: dict[str, Any], user: str
    ) -> dict[str, Any]:
        """The wheel call's ``{"tag", "data"}``."""
        load = {"fun": fun, "arg": arg, "kwarg": kwarg, "user": user}
        reply: dict[str, Any] = (await self.commands.dispatch("wheel", load))["return"]
        return reply

    @staticmethod
    def _job_load(chunk: dict[str, Any], user: str) -> dict[str, Any]:
        return {
            "tgt": chunk["tgt"],
            "tgt_type": chunk.get("tgt_type") or chunk.get("expr_form") or "glob",
            "fun": chunk["fun"],
            "arg": MasterClient.job_args(chunk["arg"], chunk["kwarg"]),
            "user": user,
        }

    async def publish(self, chunk: dict[str, Any], user: str) -> dict[str, Any]:
        """Publish a ``local`` chunk: the master's reply with ``jid`` and ``minions``."""
        try:
            return await self.commands.dispatch("publish", self._job_load(chunk, user))
        except _REFUSED as exc:
            raise BadRequest(f"local {chunk['fun']}: {exc}") from None

    async def local_async(self, chunk: dict[str, Any], user: str) -> dict[str, Any]:
        """Salt's ``LocalClient.run_job``: ``{"jid", "minions"}``, or ``{}`` when the target
        matched no minion (no job is published then)."""
        published = await self.publish(chunk, user)
        if not published["jid"]:
            return {}
        return {"jid": published["jid"], "minions": published["minions"]}

    async def local(self, chunk: dict[str, Any], user: str) -> dict[str, Any]:
        """Salt's ``LocalClient.cmd`` answer in the master's dialect: ``{minion_id: return}``
        and, for a targeted minion that did not answer in time or a listed id with no key,
        the line ``salt`` prints (3008.3), or ``False`` for a silent one (3006.29)."""
        load = {**self._job_load(chunk, user), "timeout": chunk.get("timeout")}
        try:
            reply = await self.commands.dispatch("local", load)
        except _REFUSED as exc:
            raise BadRequest(f"local {chunk['fun']}: {exc}") from None
        answer: dict[str, Any] = reply["client_return"]
        return answer
