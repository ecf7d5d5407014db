"""``POST /``: lowstate chunks run through the ``local``, ``runner`` and ``wheel`` clients.

Every chunk is checked before any runs, so a bad one (400) has no side effects. As in
salt-api: ``local`` publishes and returns ``{minion_id: return}`` for the minions that
answered within ``timeout`` (default ``job_timeout``), ``{}`` when nothing matched;
``runner`` returns the runner's return; ``wheel`` returns ``{"tag", "data"}`` with the
result in ``data.return``. Keys of a runner or wheel chunk that are not lowstate's own
are keyword arguments, as salt-api passes them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from saltsim.errors import FrameError
from saltsim.masterclient import MasterClient
from saltsim.targeting import TargetError
from saltsim_master.api.errors import BadRequest
from saltsim_master.api.wheel import Wheel

if TYPE_CHECKING:
    from saltsim_master.master import Master

__all__ = ["CLIENTS", "Lowstate", "chunks_of"]

CLIENTS = ("local", "runner", "wheel")
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
    if client not in CLIENTS:
        raise BadRequest(f"{where}: client must be one of {', '.join(CLIENTS)}, not {client!r}")
    fun = chunk.get("fun")
    if not isinstance(fun, str) or not fun:
        raise BadRequest(f"{where}: fun must be a function name such as test.ping")
    arg = chunk.get("arg", [])
    kwarg = chunk.get("kwarg", {})
    if not isinstance(kwarg, dict):
        raise BadRequest(f"{where}: kwarg must be an object")
    if client == "local" and chunk.get("tgt") in (None, ""):
        raise BadRequest(f"{where}: the local client needs tgt")
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
        "kwarg": {**kwarg, **extra} if client != "local" else kwarg,
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
    def __init__(self, master: Master) -> None:
        self.master = master
        self.wheel = Wheel(master)

    async def run(self, chunk: dict[str, Any], user: str) -> Any:
        try:
            if chunk["client"] == "local":
                return await self.local(chunk, user)
            if chunk["client"] == "runner":
                load = {k: chunk[k] for k in ("fun", "arg", "kwarg")}
                reply = await self.master.run_runner({**load, "user": user})
                return reply["return"]
            return self.wheel.run(chunk["fun"], chunk["arg"], chunk["kwarg"], user)
        except (TargetError, FrameError, ValueError, TypeError) as exc:
            raise BadRequest(f"{chunk['client']} {chunk['fun']}: {exc}") from None

    def publish(self, chunk: dict[str, Any], user: str) -> dict[str, Any]:
        """Publish a ``local`` chunk: the master's reply with ``jid`` and ``minions``."""
        load = {
            "tgt": chunk["tgt"],
            "tgt_type": chunk.get("tgt_type") or chunk.get("expr_form") or "glob",
            "fun": chunk["fun"],
            "arg": MasterClient.job_args(chunk["arg"], chunk["kwarg"]),
            "user": user,
        }
        try:
            return self.master.publish(load)
        except (TargetError, FrameError, ValueError, TypeError) as exc:
            raise BadRequest(f"local {chunk['fun']}: {exc}") from None

    async def local(self, chunk: dict[str, Any], user: str) -> dict[str, Any]:
        published = self.publish(chunk, user)
        if not published["jid"]:
            return {}
        timeout = chunk.get("timeout")
        wait = self.master.config.job_timeout if timeout is None else timeout
        returns = await self.master.wait_returns(published["jid"], wait)
        return {m: returns[m].get("return") for m in published["minions"] if m in returns}
