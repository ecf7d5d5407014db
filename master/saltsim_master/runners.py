"""Master-side runners (``saltsim run``, salt-api's ``runner`` client): registry and execution.

A part declares its runners in a ``RunnerGroup`` with a decorator::

    manage = RunnerGroup[JobRunnerContext]()

    @manage.runner("manage.up")
    async def up(ctx: JobRunnerContext, timeout: float | None = None) -> list[str]: ...

and ``__main__`` binds each group to its part (``Runners.add(group, part)``). ``Runners``
registers the client command ``runner``: it fires ``salt/run/<jid>/new``, calls the
runner with the load's ``arg`` and ``kwarg``, and fires ``salt/run/<jid>/ret`` with its
return and ``success``; a runner's ``RunnerError`` (or a bug in it) is its failure, not
the master's.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Generic, Protocol, TypeVar

from saltsim_master.errors import RunnerError
from saltsim_master.registry import Registry

__all__ = ["RunnerContext", "RunnerError", "RunnerGroup", "Runners"]

log = logging.getLogger("saltsim_master.master")

C = TypeVar("C")
F = TypeVar("F", bound=Callable[..., Awaitable[Any]])
Bound = Callable[..., Awaitable[Any]]


class RunnerGroup(Generic[C]):
    """Runner functions of one part, by name; each takes the part's context first."""

    def __init__(self) -> None:
        self.functions: dict[str, Callable[..., Awaitable[Any]]] = {}

    def runner(self, name: str) -> Callable[[F], F]:
        """Register the decorated coroutine function as the runner ``name``."""

        def add(function: F) -> F:
            if name in self.functions:
                raise ValueError(f"runner {name!r} is declared twice")
            self.functions[name] = function
            return function

        return add

    def bind(self, ctx: C) -> dict[str, Bound]:
        return {name: functools.partial(fn, ctx) for name, fn in self.functions.items()}


class RunnerContext(Protocol):
    """What running runners needs of the core."""

    @property
    def make_jid(self) -> Callable[[], str]: ...
    def fire(self, tag: str, data: dict[str, Any]) -> None: ...


class Runners:
    """Every runner by name, bound to its part; the ``runner`` client command."""

    def __init__(self, ctx: RunnerContext) -> None:
        self.ctx = ctx
        self._runners: dict[str, Bound] = {}

    def add(self, group: RunnerGroup[C], ctx: C) -> None:
        for name, bound in group.bind(ctx).items():
            if name in self._runners:
                raise ValueError(f"runner {name!r} is registered twice")
            self._runners[name] = bound

    def names(self) -> list[str]:
        return sorted(self._runners)

    def register(self, registry: Registry) -> None:
        registry.commands.register("runner", self.run)

    async def call(self, fun: str, arg: list[Any], kwarg: dict[str, Any]) -> Any:
        """The runner's return; ``RunnerError`` for an unknown runner or bad arguments."""
        runner = self._runners.get(fun)
        if runner is None:
            raise RunnerError(f"'{fun}' is not available.")
        try:
            return await runner(*arg, **kwarg)
        except TypeError as exc:
            raise RunnerError(f"{fun}: {exc}") from exc

    async def run(self, load: dict[str, Any]) -> dict[str, Any]:
        """The ``runner`` command: ``{"ok", "jid", "return", "success"}``."""
        fun, arg = load.get("fun"), load.get("arg", [])
        kwarg, user = load.get("kwarg", {}), load.get("user", "root")
        if not isinstance(fun, str) or not isinstance(arg, list) or not isinstance(kwarg, dict):
            raise ValueError("runner needs fun (str), arg (list) and kwarg (map)")
        jid = self.ctx.make_jid()
        fun_args: list[Any] = [*arg, kwarg] if kwarg else list(arg)
        base = {"fun": f"runner.{fun}", "jid": jid, "user": user, "fun_args": fun_args}
        self.ctx.fire(f"salt/run/{jid}/new", dict(base))
        try:
            result, success = await self.call(fun, arg, kwarg), True
        except RunnerError as exc:
            result, success = str(exc), False
        except Exception as exc:  # a runner bug is the runner's failure, not the master's
            log.exception("runner %s raised", fun)
            result, success = f"Exception occurred in runner {fun}: {exc!r}", False
        ret = {**base, "return": result, "success": success}
        if not success:
            ret["retcode"] = 1
        self.ctx.fire(f"salt/run/{jid}/ret", ret)
        return {"ok": True, "jid": jid, "return": result, "success": success}
