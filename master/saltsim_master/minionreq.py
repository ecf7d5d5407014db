"""What an authenticated minion may ask: heartbeat, pillar, events, returns, goodbye."""

from __future__ import annotations

import fnmatch
import re
import time
from typing import TYPE_CHECKING, Any

from saltsim.errors import FrameError
from saltsim_master.reqserver import Refused
from saltsim_master.sessions import Session

if TYPE_CHECKING:
    from saltsim_master.master import Master

__all__ = ["RESERVED_TAGS", "MinionRequests"]

# Tags only the master may fire (EVENTS.md), plus saltsim's own bus tags.
RESERVED_TAGS = (
    "salt/job/*/new",
    "salt/job/*/publish",
    "salt/key",
    "salt/key/*",
    "salt/cloud/*",
    "salt/run/*",
    "salt/wheel/*/new",
    "saltsim/*",
)
_JID = re.compile(r"^\d{20}$")


def reserved(tag: str) -> bool:
    return any(fnmatch.fnmatchcase(tag, pattern) for pattern in RESERVED_TAGS)


class MinionRequests:
    def __init__(self, master: Master) -> None:
        self.master = master

    def handle(self, session: Session, load: dict[str, Any]) -> dict[str, Any]:
        cmd = load["cmd"]
        minion_id = session.minion_id
        if cmd == "_heartbeat":
            return {"ok": True}
        if cmd == "_disconnect":
            session.closed = True
            return {"ok": True}
        if cmd == "_pillar":
            return self._pillar(minion_id, load)
        if cmd == "_minion_event":
            return self._event(minion_id, load)
        if cmd == "_return":
            return self._return(minion_id, load)
        raise Refused("unknown cmd", f"unknown cmd {cmd!r}")

    def _pillar(self, minion_id: str, load: dict[str, Any]) -> dict[str, Any]:
        """The minion's start-up data refresh: cache its grains, fire the refresh events."""
        grains = load.get("grains")
        if isinstance(grains, dict):
            self.master.save_grains(minion_id, grains)
        self.master.fire(f"minion/refresh/{minion_id}", {"Minion data cache refresh": minion_id})
        if self.master.config.dialect == "3008":
            self.master.fire(f"resource/refresh/{minion_id}", {"Resource cache refresh": minion_id})
        return {"ok": True, "pillar": {}}

    def _event(self, minion_id: str, load: dict[str, Any]) -> dict[str, Any]:
        tag = load.get("tag")
        if not isinstance(tag, str) or not tag:
            raise Refused("bad load", "event tag must be a non-empty string")
        if reserved(tag):
            raise Refused("reserved tag", f"minions may not fire {tag!r}")
        data = {
            "id": minion_id,
            "cmd": "_minion_event",
            "pretag": load.get("pretag"),
            "data": load.get("data"),
            "tag": tag,
            "ts": load.get("ts", int(time.time())),
        }
        try:
            self.master.fire(tag, data)
        except FrameError as exc:
            raise Refused("bad load", str(exc)) from exc
        return {"ok": True}

    def _return(self, minion_id: str, load: dict[str, Any]) -> dict[str, Any]:
        jid = load.get("jid")
        if not isinstance(jid, str) or not _JID.match(jid):
            raise Refused("bad load", f"return for an invalid jid {jid!r}")
        job = self.master.jobs.get(jid)
        ret = {
            "cmd": "_return",
            "id": minion_id,
            "success": bool(load.get("success", False)),
            "return": load.get("return"),
            "retcode": load.get("retcode", 0),
            "jid": jid,
            "fun": load.get("fun"),
            "fun_args": load.get("fun_args", []),
            "user": job.load.get("user", "root") if job else load.get("user", "root"),
            "ts": load.get("ts", time.time()),
        }
        try:
            self.master.fire(f"salt/job/{jid}/ret/{minion_id}", ret)
        except FrameError as exc:
            raise Refused("bad load", str(exc)) from exc
        self.master.record_return(minion_id, ret)
        return {"ok": True}
