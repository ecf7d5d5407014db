"""The ``wheel`` client's key functions, shaped as Salt's WheelClient returns them.

``key.list_all``, ``key.list``, ``key.accept``, ``key.reject``, ``key.delete`` and
``key.finger``, with ``match`` (a glob, or a list of them). Each call fires
``salt/wheel/<jid>/new`` and ``salt/wheel/<jid>/ret`` (``{"fun": "wheel.<fun>", "jid",
"user", "fun_args"}``, the ret adding ``return`` and ``success``) around the key events
it causes, and returns ``{"tag": "salt/wheel/<jid>", "data": <the ret payload>}``.
Listings use Salt's folder names: ``minions``, ``minions_pre``, ``minions_rejected``,
``minions_denied``; ``local`` is empty, as saltsim's master has no key pair of its own.
"""

from __future__ import annotations

import base64
import binascii
import fnmatch
import hashlib
from collections.abc import Callable
from typing import Any, Protocol

from saltsim_master.keys import STATES, KeyStore
from saltsim_master.registry import Registry

__all__ = ["FUNCTIONS", "Wheel", "WheelContext", "pem_finger"]

FUNCTIONS = ("key.list_all", "key.list", "key.accept", "key.reject", "key.delete", "key.finger")
_LIST_MATCH = {"pre": "pending", "un": "pending", "unaccepted": "pending", "acc": "accepted"}


def pem_finger(pem: str) -> str:
    """Salt's ``pem_finger``: sha256 of the key's DER bytes, as colon-separated hex."""
    body = "".join(line for line in pem.strip().splitlines() if not line.startswith("-----"))
    try:
        digest = hashlib.sha256(base64.b64decode(body)).hexdigest()
    except (binascii.Error, ValueError):
        return ""
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


class WheelContext(Protocol):
    """What the wheel needs of the core."""

    @property
    def keys(self) -> KeyStore: ...
    @property
    def make_jid(self) -> Callable[[], str]: ...
    def fire(self, tag: str, data: dict[str, Any]) -> None: ...


KeyAction = Callable[[dict[str, Any]], dict[str, Any]]


class Wheel:
    """The ``wheel`` client command; ``key_action`` is salt-key's (``KeyActions.handle``)."""

    def __init__(self, ctx: WheelContext, key_action: KeyAction) -> None:
        self.ctx = ctx
        self.key_action = key_action

    def register(self, registry: Registry) -> None:
        registry.commands.register("wheel", self._command)

    async def _command(self, load: dict[str, Any]) -> dict[str, Any]:
        fun, arg, kwarg = load.get("fun"), load.get("arg", []), load.get("kwarg", {})
        if not isinstance(fun, str) or not isinstance(arg, list) or not isinstance(kwarg, dict):
            raise ValueError("wheel needs fun (str), arg (list) and kwarg (map)")
        return {"ok": True, "return": self.run(fun, arg, kwarg, str(load.get("user", "root")))}

    def run(self, fun: str, arg: list[Any], kwarg: dict[str, Any], user: str) -> dict[str, Any]:
        jid = self.ctx.make_jid()
        tag = f"salt/wheel/{jid}"
        data: dict[str, Any] = {
            "fun": f"wheel.{fun}",
            "jid": jid,
            "user": user,
            "fun_args": [*arg, kwarg] if kwarg else list(arg),
        }
        self.ctx.fire(f"{tag}/new", dict(data))
        action = self._function(fun)
        if action is None:
            data.update({"return": f"'{fun}' is not available.", "success": False})
        else:
            try:
                data.update({"return": action(arg, kwarg), "success": True})
            except (ValueError, TypeError) as exc:
                data.update({"return": f"{fun}: {exc}", "success": False, "retcode": 1})
        self.ctx.fire(f"{tag}/ret", dict(data))
        return {"tag": tag, "data": data}

    def _function(self, fun: str) -> Callable[[list[Any], dict[str, Any]], Any] | None:
        if fun not in FUNCTIONS:
            return None
        method: Callable[[list[Any], dict[str, Any]], Any] = getattr(
            self, "_" + fun.replace(".", "_")
        )
        return method

    @staticmethod
    def _matches(arg: list[Any], kwarg: dict[str, Any]) -> list[str]:
        match = kwarg.get("match", arg[0] if arg else None)
        listed: list[Any] = match if isinstance(match, list) else [match]
        matches = [m for m in listed if isinstance(m, str) and m]
        if not matches or len(matches) != len(listed):
            raise ValueError("match must be a glob (or a list of globs) of minion ids")
        return matches

    def _listing(self) -> dict[str, list[str]]:
        keys = self.ctx.keys
        return {folder: keys.list(state) for state, folder in STATES.items()}

    def _key_list_all(self, arg: list[Any], kwarg: dict[str, Any]) -> dict[str, list[str]]:
        return {"local": [], **self._listing()}

    def _key_list(self, arg: list[Any], kwarg: dict[str, Any]) -> dict[str, list[str]]:
        match = str(kwarg.get("match", arg[0] if arg else "all"))
        state = _LIST_MATCH.get(match, match)
        if state == "all":
            return self._key_list_all(arg, kwarg)
        if state not in STATES:
            raise ValueError(f"match must be all, accepted, pre, rejected or denied, not {match}")
        return {STATES[state]: self.ctx.keys.list(state)}

    def _act(self, fun: str, arg: list[Any], kwarg: dict[str, Any]) -> dict[str, list[str]]:
        flags = {k: bool(kwarg.get(k)) for k in ("include_accepted", "include_rejected")}
        done: dict[str, set[str]] = {}
        for match in self._matches(arg, kwarg):
            reply = self.key_action({"fun": fun, "match": match, **flags})
            for state, ids in reply["keys"].items():
                target = {"accept": "accepted", "reject": "rejected"}.get(fun, state)
                done.setdefault(STATES[target], set()).update(ids)
        return {folder: sorted(ids) for folder, ids in done.items()}

    def _key_accept(self, arg: list[Any], kwarg: dict[str, Any]) -> dict[str, list[str]]:
        return self._act("accept", arg, kwarg)

    def _key_reject(self, arg: list[Any], kwarg: dict[str, Any]) -> dict[str, list[str]]:
        return self._act("reject", arg, kwarg)

    def _key_delete(self, arg: list[Any], kwarg: dict[str, Any]) -> dict[str, list[str]]:
        return self._act("delete", arg, kwarg)

    def _key_finger(self, arg: list[Any], kwarg: dict[str, Any]) -> dict[str, dict[str, str]]:
        keys = self.ctx.keys
        found: dict[str, dict[str, str]] = {}
        matches = self._matches(arg, kwarg)
        for state, folder in STATES.items():
            ids = [m for m in keys.list(state) if any(fnmatch.fnmatchcase(m, g) for g in matches)]
            if ids:
                found[folder] = {m: pem_finger(keys.pub(m, state) or "") for m in ids}
        return found
