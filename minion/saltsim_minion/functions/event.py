"""Salt's ``event`` module: ``event.send``, an event from the minion to the master's bus."""

from __future__ import annotations

from typing import Any

from saltsim_minion.registry import FunctionContext, function

__all__ = ["event_data", "event_send"]


def event_data(data: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
    """Salt's event.send folds its keyword arguments (the publication's ``__pub_*`` among
    them) into the event data; the ``data`` map wins over them."""
    payload = dict(kwargs)
    if isinstance(data, dict):
        payload.update(data)
    elif data is not None:
        payload["data"] = data  # saltsim keeps a non-map data (Salt drops it)
    return payload


@function("event.send")
async def event_send(ctx: FunctionContext, tag: str, data: Any = None, **kwargs: Any) -> bool:
    return await ctx.fire_master(event_data(data, kwargs), str(tag))
