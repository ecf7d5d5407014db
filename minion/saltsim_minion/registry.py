"""The table of execution functions: Salt's names, arguments and return shapes, no real shell.

A function is ``async def f(ctx, *args, **kwargs)`` registered under its Salt name with
``@function("test.ping")``; ``ctx`` is a :class:`FunctionContext`, only what functions may
use of their minion. One that wants a non-zero ``retcode`` returns :class:`Outcome`. The
functions themselves live in ``saltsim_minion.functions``, one module per Salt module;
this module knows none of them, and nothing of the minion beyond the context.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

__all__ = [
    "FUNCTIONS",
    "Function",
    "FunctionContext",
    "FunctionTable",
    "Outcome",
    "function",
    "split_args",
]

Function = Callable[..., Awaitable[Any]]
F = TypeVar("F", bound=Function)


class FunctionContext(Protocol):
    """What an execution function may use of the minion that runs it."""

    @property
    def id(self) -> str:
        """The minion's id."""

    @property
    def grains(self) -> dict[str, Any]:
        """The minion's grains, as ``grains.items`` returns them."""

    async def fire_master(self, data: dict[str, Any], tag: str) -> bool:
        """Send an event to the master (Salt's ``event.send``); whether it took it."""


@dataclass
class Outcome:
    """A function's return value with a ``retcode`` of its own (non-zero: failed)."""

    value: Any
    retcode: int = 0


def split_args(arg: list[Any]) -> tuple[list[Any], dict[str, Any]]:
    """Salt passes keyword arguments as a trailing ``{"__kwarg__": True, ...}``."""
    if arg and isinstance(arg[-1], dict) and arg[-1].get("__kwarg__"):
        kwargs = {k: v for k, v in arg[-1].items() if k != "__kwarg__"}
        return list(arg[:-1]), kwargs
    return list(arg), {}


def _takes_kwargs(fn: Function) -> bool:
    return any(p.kind is p.VAR_KEYWORD for p in inspect.signature(fn).parameters.values())


class FunctionTable:
    """Execution functions by Salt name (``"test.ping"``), run as a Salt minion runs them."""

    def __init__(self) -> None:
        self._functions: dict[str, Function] = {}

    def register(self, name: str) -> Callable[[F], F]:
        """A decorator: ``fn`` answers publications of ``name``; a name is registered once."""

        def add(fn: F) -> F:
            if name in self._functions:
                raise ValueError(f"execution function {name!r} is registered twice")
            self._functions[name] = fn
            return fn

        return add

    def names(self) -> list[str]:
        return sorted(self._functions)

    def __contains__(self, name: object) -> bool:
        return name in self._functions

    async def execute(
        self, ctx: FunctionContext, fun: str, arg: list[Any], pub: dict[str, Any] | None = None
    ) -> tuple[Any, int, bool]:
        """``(return, retcode, success)`` as a Salt minion reports them. As Salt's
        load_args_and_kwargs, a function that takes ``**kwargs`` also receives each key of
        the publication ``pub`` as ``__pub_<key>``."""
        fn = self._functions.get(fun)
        if fn is None:
            return f"'{fun}' is not available.", 254, False
        args, kwargs = split_args(arg)
        if pub is not None and _takes_kwargs(fn):
            kwargs.update({f"__pub_{key}": value for key, value in pub.items()})
        try:
            value = await fn(ctx, *args, **kwargs)
        except TypeError as exc:
            return f"Passed invalid arguments to {fun}: {exc}", 1, False
        except Exception as exc:  # a simulated function's error is the job's failure
            return f"An exception occurred in this function: {exc!r}", 1, False
        if isinstance(value, Outcome):
            return value.value, value.retcode, value.retcode == 0
        return value, 0, True


# The minion's table; the modules of saltsim_minion.functions fill it when imported.
FUNCTIONS = FunctionTable()
function = FUNCTIONS.register
