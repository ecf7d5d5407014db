"""What an authenticated minion may ask: heartbeat, pillar, resources, events, returns, goodbye.

Every load comes from the network: each handler checks the types of what it reads and
raises ``Refused`` (answered, counted) for anything else, so one bad request costs one
refusal, never the master.
"""

from __future__ import annotations

import fnmatch
import re
import time
from collections.abc import Callable
from typing import Any, Protocol

from saltsim.errors import FrameError
from saltsim_master.config import MasterConfig
from saltsim_master.jobs import Job
from saltsim_master.registry import MinionCommand, Registry
from saltsim_master.reqserver import Refused
from saltsim_master.sessions import Session

__all__ = [
    "MINION_EVENT_BLACKLIST",
    "GrainSink",
    "MinionContext",
    "MinionRequests",
    "ReturnSink",
    "reserved",
]

# Salt 3008's MINION_EVENT_BLACKLIST (salt/daemons/masterapi.py): tags only the master may
# fire. Salt applies it to the batched form of _minion_event only; the single-tag form
# (event.send) is fired whatever the tag, unless refuse_reserved_minion_tags is on.
MINION_EVENT_BLACKLIST = (
    "salt/job/*/publish",
    "salt/job/*/new",
    "salt/job/*/return",
    "salt/key",
    "salt/cloud/*",
    "salt/run/*",
    "salt/cluster/*",
    "salt/wheel/*/new",
    "salt/wheel/*/return",
)
# saltsim's own bus tags (saltsim/bus/start announces a restart to every listener): a
# minion that could fire them would fake a restart, so they are refused in both forms.
# Salt has no such tags, so this hides nothing Salt would show.
_SALTSIM_TAGS = "saltsim/*"
_JID = re.compile(r"\d{20}")  # used with fullmatch: "$" would let a trailing newline in
_MAX_BATCH = 1000  # events in one batched _minion_event


def reserved(tag: str) -> bool:
    """A tag in Salt's MINION_EVENT_BLACKLIST (fnmatch, as Salt's valid_minion_tag)."""
    return any(fnmatch.fnmatchcase(tag, pattern) for pattern in MINION_EVENT_BLACKLIST)


def _tag(value: Any, what: str = "event tag") -> str:
    if not isinstance(value, str) or not value:
        raise Refused("bad load", f"{what} must be a non-empty string")
    if fnmatch.fnmatchcase(value, _SALTSIM_TAGS):
        raise Refused("reserved tag", f"minions may not fire saltsim's own tag {value!r}")
    return value


class MinionContext(Protocol):
    """What minion requests need of the core."""

    @property
    def config(self) -> MasterConfig: ...
    @property
    def make_jid(self) -> Callable[[], str]: ...
    def fire(self, tag: str, data: dict[str, Any]) -> None: ...


class GrainSink(Protocol):
    """Where a ``_pillar`` request's grains go (``grains.GrainCache``)."""

    def save(self, minion_id: str, grains: dict[Any, Any]) -> None: ...


class ReturnSink(Protocol):
    """The jobs a ``_return`` answers (``publisher.JobPublisher``)."""

    def get(self, jid: str) -> Job | None: ...
    def record_return(self, minion_id: str, ret: dict[str, Any]) -> None: ...


class MinionRequests:
    """The requests of an authenticated minion session, one method each, registered with
    the core as minion commands."""

    def __init__(self, ctx: MinionContext, grains: GrainSink, jobs: ReturnSink) -> None:
        self.ctx = ctx
        self.grains = grains
        self.jobs = jobs

    def commands(self) -> dict[str, MinionCommand]:
        return {
            "_heartbeat": self._heartbeat,
            "_disconnect": self._disconnect,
            "_pillar": lambda session, load: self._pillar(session.minion_id, load),
            "_register_resources": lambda session, load: self._register_resources(
                session.minion_id, load
            ),
            "_minion_event": lambda session, load: self._event(session.minion_id, load),
            "_return": lambda session, load: self._return(session.minion_id, load),
        }

    def register(self, registry: Registry) -> None:
        for name, handler in self.commands().items():
            registry.add_minion_command(name, handler)

    def handle(self, session: Session, load: dict[str, Any]) -> dict[str, Any]:
        """Answer one request as the core does (tests call it directly)."""
        cmd = load.get("cmd")
        handler = self.commands().get(cmd) if isinstance(cmd, str) else None
        if handler is None:
            raise Refused("unknown cmd", f"unknown cmd {cmd!r}")
        return handler(session, load)

    @staticmethod
    def _heartbeat(session: Session, load: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True}

    @staticmethod
    def _disconnect(session: Session, load: dict[str, Any]) -> dict[str, Any]:
        session.closed = True
        return {"ok": True}

    def _fire(self, tag: str, data: dict[str, Any]) -> None:
        try:
            self.ctx.fire(tag, data)
        except FrameError as exc:  # a payload msgpack cannot carry, a tag with "\n\n"
            raise Refused("bad load", str(exc)) from exc

    def _pillar(self, minion_id: str, load: dict[str, Any]) -> dict[str, Any]:
        """The minion's data refresh (at start-up, and salt-call's): cache its grains."""
        grains = load.get("grains")
        if grains is not None and not isinstance(grains, dict):
            raise Refused("bad load", "grains must be a map")
        if grains is not None:
            self.grains.save(minion_id, grains)
        self.ctx.fire(f"minion/refresh/{minion_id}", {"Minion data cache refresh": minion_id})
        return {"ok": True, "pillar": {}}

    def _register_resources(self, minion_id: str, load: dict[str, Any]) -> dict[str, Any]:
        """A 3008 minion's resources, sent after minion_start: the resource cache refresh.
        A 3006 master has no such request; saltsim's answers it and fires nothing."""
        if not isinstance(load.get("resources", {}), dict):
            raise Refused("bad load", "resources must be a map")
        if self.ctx.config.dialect == "3008":
            self.ctx.fire(f"resource/refresh/{minion_id}", {"Resource cache refresh": minion_id})
        return {"ok": True}

    def _event(self, minion_id: str, load: dict[str, Any]) -> dict[str, Any]:
        if "events" in load:
            return self._batch(minion_id, load)
        tag = _tag(load.get("tag"))
        if self.ctx.config.refuse_reserved_minion_tags and reserved(tag):
            raise Refused("reserved tag", f"minions may not fire {tag!r}")
        ts = load.get("ts", int(time.time()))
        if not isinstance(ts, int | float) or isinstance(ts, bool):
            raise Refused("bad load", "ts must be a number")
        pretag = load.get("pretag")
        if pretag is not None and not isinstance(pretag, str):
            raise Refused("bad load", "pretag must be a string or null")
        # Salt fires the load as the minion sent it, with the id its session proved.
        data = {
            "id": minion_id,
            "cmd": "_minion_event",
            "pretag": pretag,
            "data": load.get("data"),
            "tag": tag,
            "ts": ts,
        }
        self._fire(tag, data)
        return {"ok": True}

    def _batch(self, minion_id: str, load: dict[str, Any]) -> dict[str, Any]:
        """The batched form (``{"events": [{"tag", "data"}, ...]}``, what a syndic or a
        minion's event forwarding sends): each event's data under its tag, unwrapped, the
        blacklisted tags dropped; with a ``pretag``, each also under ``<pretag>/<tag>``
        first, blacklisted or not (Salt's order)."""
        events, pretag = load.get("events"), load.get("pretag")
        if not isinstance(events, list) or len(events) > _MAX_BATCH:
            raise Refused("bad load", f"events must be a list of at most {_MAX_BATCH}")
        if pretag is not None and (not isinstance(pretag, str) or not pretag):
            raise Refused("bad load", "pretag must be a non-empty string or null")
        checked: list[tuple[str, dict[str, Any]]] = []
        for event in events:
            if not isinstance(event, dict):
                raise Refused("bad load", "each batched event must be a map")
            data = event.get("data", event)
            if not isinstance(data, dict):
                raise Refused("bad load", "each batched event's data must be a map")
            checked.append((_tag(event.get("tag")), data))
        fired = dropped = 0
        for tag, data in checked:
            if pretag is not None:
                self._fire(f"{pretag}/{tag}", data)
            if reserved(tag):
                dropped += 1
                continue
            self._fire(tag, data)
            fired += 1
        return {"ok": True, "fired": fired, "dropped": dropped}

    def _return(self, minion_id: str, load: dict[str, Any]) -> dict[str, Any]:
        jid = load.get("jid")
        if jid == "req":
            return self._standalone_return(minion_id, load)
        if not isinstance(jid, str) or not _JID.fullmatch(jid):
            raise Refused("bad load", f"return for an invalid jid {jid!r}")
        job = self.jobs.get(jid)
        ret = {
            "cmd": "_return",
            "id": minion_id,
            "success": bool(load.get("success", False)),
            "return": load.get("return"),
            "retcode": _retcode(load),
            "jid": jid,
            "fun": load.get("fun"),
            "fun_args": _fun_args(load),
            "user": job.load.get("user", "root") if job else "root",
            "ts": _ts(load),
        }
        self._fire(f"salt/job/{jid}/ret/{minion_id}", ret)
        self.jobs.record_return(minion_id, ret)
        return {"ok": True}

    def _standalone_return(self, minion_id: str, load: dict[str, Any]) -> dict[str, Any]:
        """salt-call's return (``jid: "req"``): the master makes the jid and, as Salt's
        store_job, targets it at the minion itself; no ``new`` was ever fired for it."""
        fun_args = _fun_args(load)
        ret = {
            "cmd": "_return",
            "id": minion_id,
            "jid": self.ctx.make_jid(),
            "return": load.get("return"),
            "retcode": _retcode(load),
            "fun": load.get("fun"),
            "fun_args": fun_args,
            "arg": fun_args,
            "tgt": minion_id,
            "tgt_type": "glob",
            "ts": _ts(load),
        }
        if not isinstance(ret["fun"], str):
            raise Refused("bad load", "a return needs fun (a string)")
        self._fire(f"salt/job/{ret['jid']}/ret/{minion_id}", ret)
        return {"ok": True, "jid": ret["jid"]}


def _fun_args(load: dict[str, Any]) -> list[Any]:
    value = load.get("fun_args", [])
    if not isinstance(value, list):
        raise Refused("bad load", "fun_args must be a list")
    return value


def _retcode(load: dict[str, Any]) -> int:
    value = load.get("retcode", 0)
    if not isinstance(value, int) or isinstance(value, bool):
        raise Refused("bad load", "retcode must be an integer")
    return value


def _ts(load: dict[str, Any]) -> int:
    """The minion's integer ``ts`` (Salt stamps ``int(time.time())``); one sent as a
    float is truncated rather than refused."""
    value = load.get("ts", time.time())
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise Refused("bad load", "ts must be a number")
    return int(value)
