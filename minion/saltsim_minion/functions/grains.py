"""Salt's ``grains`` module: the minion's grains, whole or one (nested) key."""

from __future__ import annotations

from typing import Any

from saltsim_minion.registry import FunctionContext, function

__all__ = ["grains_get", "grains_items"]


@function("grains.items")
async def grains_items(ctx: FunctionContext) -> dict[str, Any]:
    return ctx.grains


@function("grains.get")
async def grains_get(ctx: FunctionContext, key: str, default: Any = "") -> Any:
    node: Any = ctx.grains
    for part in str(key).split(":"):
        if not isinstance(node, dict) or part not in node:
            return default
        node = node[part]
    return node
