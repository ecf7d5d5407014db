"""``salt-call event.send`` as the bus shows it, done by the minion daemon for a local caller.

A real ``salt-call`` is a process of its own with the minion's key. Before it runs the
function it signs in (``salt/auth`` accept) and fetches its pillar
(``minion/refresh/<id>``); ``event.send`` then sends the event with the call's
``__pub_fun``, ``__pub_pid``, ``__pub_jid`` and ``__pub_tgt`` (``"salt-call"``) folded into
its data; last, it sends its return with ``jid: "req"``: the master makes a jid for it and
fires ``salt/job/<jid>/ret/<id>`` with no ``new`` before it (docs/EVENTS.md "Minion
events"). saltsim's daemon makes the same requests in the same order, on its own
connection: its sign-in renews the daemon's session, which nothing on the bus shows.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from typing import TYPE_CHECKING, Any

from saltsim_minion.functions.event import event_data

if TYPE_CHECKING:
    from saltsim_minion.minion import Minion

__all__ = ["SaltCallRefused", "event_send"]


class SaltCallRefused(Exception):
    """The master refused one of the call's requests; the message says which and why."""


def local_jid() -> str:
    """salt-call's own jid for the call (``gen_jid``): the local time, 20 digits."""
    return dt.datetime.now().strftime("%Y%m%d%H%M%S%f")


async def event_send(
    minion: Minion, tag: str, data: dict[str, Any], fun_args: list[Any]
) -> dict[str, Any]:
    """Sign in, refresh, fire, return; the master's answer to the return (with its jid)."""
    await minion.sign_in()
    await _ask(minion, {"cmd": "_pillar", "grains": minion.grains}, "_pillar")
    pub = {"fun": "event.send", "pid": os.getpid(), "jid": local_jid(), "tgt": "salt-call"}
    payload = event_data(data, {f"__pub_{key}": value for key, value in pub.items()})
    await _ask(
        minion,
        {
            "cmd": "_minion_event",
            "tag": tag,
            "data": payload,
            "pretag": None,
            "ts": int(time.time()),
        },
        f"the event {tag!r}",
    )
    return await _ask(
        minion,
        {
            "cmd": "_return",
            "jid": "req",
            "return": True,
            "retcode": 0,
            "fun": "event.send",
            "fun_args": fun_args,
            "ts": int(time.time()),
        },
        "the return",
    )


async def _ask(minion: Minion, load: dict[str, Any], what: str) -> dict[str, Any]:
    answer = await minion.request(load)
    if not answer.get("ok"):
        raise SaltCallRefused(f"the master refused {what}: {answer.get('error')}")
    return answer
