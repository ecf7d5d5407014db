"""Salt's ``cmd`` module: ``cmd.run`` with a pretend shell, nothing is executed."""

from __future__ import annotations

import shlex
from typing import Any

from saltsim_minion.registry import FunctionContext, Outcome, function

__all__ = ["cmd_run"]


@function("cmd.run")
async def cmd_run(ctx: FunctionContext, cmd: str, **kwargs: Any) -> Outcome:
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
        return Outcome(ctx.id)
    if name == "true":
        return Outcome("")
    if name == "false":
        return Outcome("", 1)
    if name == "exit":
        return Outcome("", int(rest[0]) if rest and rest[0].isdigit() else 0)
    if name == "uname":
        return Outcome("Linux")
    return Outcome(f"/bin/sh: 1: {name}: not found", 127)
