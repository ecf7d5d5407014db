"""Simulated execution functions: Salt's names, arguments and return shapes, no real shell.

Each function is ``async def f(minion, *args, **kwargs)``; one that wants a
non-zero ``retcode`` returns ``Outcome``.
"""

from __future__ import annotations

import asyncio
import inspect
import shlex
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from saltsim_minion.minion import Minion

__all__ = ["FUNCTIONS", "Outcome", "event_data", "execute"]


@dataclass
class Outcome:
    value: Any
    retcode: int = 0


async def test_ping(minion: Minion) -> bool:
    return True


async def test_echo(minion: Minion, text: Any) -> Any:
    return text


async def test_arg(minion: Minion, *args: Any, **kwargs: Any) -> dict[str, Any]:
    # As Salt 3008.3's test.arg: kwargs as received, the publication's __pub_* keys among
    # them (load_args_and_kwargs adds them to every function that takes **kwargs).
    return {"args": list(args), "kwargs": dict(kwargs)}


async def test_sleep(minion: Minion, length: Any = 1) -> bool:
    await asyncio.sleep(float(length))
    return True


async def test_retcode(minion: Minion, code: Any = 42) -> Outcome:
    return Outcome(True, int(code))


async def grains_items(minion: Minion) -> dict[str, Any]:
    return minion.grains


async def grains_get(minion: Minion, key: str, default: Any = "") -> Any:
    node: Any = minion.grains
    for part in str(key).split(":"):
        if not isinstance(node, dict) or part not in node:
            return default
        node = node[part]
    return node


async def cmd_run(minion: Minion, cmd: str, **kwargs: Any) -> Outcome:
    """A pretend shell for a few commands; anything else is 'not found', retcode 127."""
    try:
        words = shlex.split(str(cmd))
    except ValueError as exc:
        return Outcome(f"/bin/sh: 1: Syntax error: {exc}", 2)
    if not words:
        return Outcome("")
    name, rest = words[0], words[1:]
    if name == "echo":
        return Outcome(" ".join(rest))
    if name == "hostname":
        return Outcome(minion.config.id)
    if name == "true":
        return Outcome("")
    if name == "false":
        return Outcome("", 1)
    if name == "exit":
        return Outcome("", int(rest[0]) if rest and rest[0].isdigit() else 0)
    if name == "uname":
        return Outcome("Linux")
    return Outcome(f"/bin/sh: 1: {name}: not found", 127)


def event_data(data: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
    """Salt's event.send folds its keyword arguments (the publication's ``__pub_*`` among
    them) into the event data; the ``data`` map wins over them."""
    payload = dict(kwargs)
    if isinstance(data, dict):
        payload.update(data)
    elif data is not None:
        payload["data"] = data  # saltsim keeps a non-map data (Salt drops it)
    return payload


async def event_send(minion: Minion, tag: str, data: Any = None, **kwargs: Any) -> bool:
    return await minion.fire_master(event_data(data, kwargs), str(tag))


Function = Callable[..., Awaitable[Any]]
FUNCTIONS: dict[str, Function] = {
    "test.ping": test_ping,
    "test.echo": test_echo,
    "test.arg": test_arg,
    "test.sleep": test_sleep,
    "test.retcode": test_retcode,
    "grains.items": grains_items,
    "grains.get": grains_get,
    "cmd.run": cmd_run,
    "event.send": event_send,
}


def split_args(arg: list[Any]) -> tuple[list[Any], dict[str, Any]]:
    """Salt passes keyword arguments as a trailing ``{"__kwarg__": True, ...}``."""
    if arg and isinstance(arg[-1], dict) and arg[-1].get("__kwarg__"):
        kwargs = {k: v for k, v in arg[-1].items() if k != "__kwarg__"}
        return list(arg[:-1]), kwargs
    return list(arg), {}


def _takes_kwargs(function: Function) -> bool:
    return any(p.kind is p.VAR_KEYWORD for p in inspect.signature(function).parameters.values())


async def execute(
    minion: Minion, fun: str, arg: list[Any], pub: dict[str, Any] | None = None
) -> tuple[Any, int, bool]:
    """``(return, retcode, success)`` as a Salt minion reports them. As Salt's
    load_args_and_kwargs, a function that takes ``**kwargs`` also receives each key of
    the publication ``pub`` as ``__pub_<key>``."""
    function = FUNCTIONS.get(fun)
    if function is None:
        return f"'{fun}' is not available.", 254, False
    args, kwargs = split_args(arg)
    if pub is not None and _takes_kwargs(function):
        kwargs.update({f"__pub_{key}": value for key, value in pub.items()})
    try:
        value = await function(minion, *args, **kwargs)
    except TypeError as exc:
        return f"Passed invalid arguments to {fun}: {exc}", 1, False
    except Exception as exc:  # a simulated function's error is the job's failure
        return f"An exception occurred in this function: {exc!r}", 1, False
    if isinstance(value, Outcome):
        return value.value, value.retcode, value.retcode == 0
    return value, 0, True
