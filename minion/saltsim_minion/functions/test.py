"""Salt's ``test`` module: ping, echo, arg, sleep, retcode."""

from __future__ import annotations

import asyncio
from typing import Any

from saltsim_minion.registry import FunctionContext, Outcome, function

__all__ = ["test_arg", "test_echo", "test_ping", "test_retcode", "test_sleep"]


@function("test.ping")
async def test_ping(ctx: FunctionContext) -> bool:
    return True


@function("test.echo")
async def test_echo(ctx: FunctionContext, text: Any) -> Any:
    return text


@function("test.arg")
async def test_arg(ctx: FunctionContext, *args: Any, **kwargs: Any) -> dict[str, Any]:
    # As Salt 3008.3's test.arg: kwargs as received, the publication's __pub_* keys among
    # them (load_args_and_kwargs adds them to every function that takes **kwargs).
    return {"args": list(args), "kwargs": dict(kwargs)}


@function("test.sleep")
async def test_sleep(ctx: FunctionContext, length: Any = 1) -> bool:
    await asyncio.sleep(float(length))
    return True


@function("test.retcode")
async def test_retcode(ctx: FunctionContext, code: Any = 42) -> Outcome:
    return Outcome(True, int(code))
