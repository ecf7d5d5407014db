"""The master's handling of authenticated minion requests, without sockets: what each
request fires, Salt 3008's event blacklist (batched form only), salt-call's standalone
return, and a refusal (never an exception of another kind) for every malformed load."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from saltsim_master.config import MasterConfig
from saltsim_master.jobs import JidMaker, Job
from saltsim_master.minionreq import MINION_EVENT_BLACKLIST, MinionRequests, reserved
from saltsim_master.reqserver import Refused
from saltsim_master.sessions import Session

from saltsim.crypto import SessionCipher, new_session_key
from saltsim.wire import pack_frame


@dataclass
class FakeCore:
    """What MinionRequests needs of the core (its ``MinionContext``); ``fired`` is the bus."""

    config: MasterConfig
    fired: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    make_jid: JidMaker = field(default_factory=JidMaker)

    def fire(self, tag: str, data: dict[str, Any]) -> None:
        pack_frame(tag, data)  # the bus's own checks (FrameError)
        self.fired.append((tag, data))


@dataclass
class Grains:
    saved: dict[str, Any] = field(default_factory=dict)

    def save(self, minion_id: str, grains: dict[Any, Any]) -> None:
        self.saved[minion_id] = grains


@dataclass
class NoJobs:
    """A job cache without jobs (a standalone return has none); keeps recorded returns."""

    returns: list[dict[str, Any]] = field(default_factory=list)

    def get(self, jid: str) -> Job | None:
        return None

    def record_return(self, minion_id: str, ret: dict[str, Any]) -> None:
        self.returns.append(ret)


@dataclass
class Fakes:
    core: FakeCore
    grains: Grains
    jobs: NoJobs

    @property
    def fired(self) -> list[tuple[str, dict[str, Any]]]:
        return self.core.fired


def _requests(**options: Any) -> tuple[MinionRequests, Fakes, Session]:
    fakes = Fakes(FakeCore(MasterConfig(pki_dir="/nonexistent/pki", **options)), Grains(), NoJobs())
    session = Session("m1", SessionCipher(new_session_key()))
    return MinionRequests(fakes.core, fakes.grains, fakes.jobs), fakes, session


def _event(tag: str, data: Any = None) -> dict[str, Any]:
    return {"cmd": "_minion_event", "tag": tag, "data": data, "pretag": None, "ts": 17}


def test_pillar_refreshes_the_data_cache_and_register_resources_the_resources() -> None:
    handler, master, session = _requests()
    handler.handle(session, {"cmd": "_pillar", "grains": {"os": "Debian"}})
    handler.handle(session, {"cmd": "_register_resources", "resources": {}})
    assert master.fired == [
        ("minion/refresh/m1", {"Minion data cache refresh": "m1"}),
        ("resource/refresh/m1", {"Resource cache refresh": "m1"}),
    ]
    assert master.grains.saved == {"m1": {"os": "Debian"}}


def test_a_3006_master_fires_no_resource_refresh() -> None:
    handler, master, session = _requests(dialect="3006")
    assert handler.handle(session, {"cmd": "_register_resources", "resources": {}})["ok"]
    assert master.fired == []


@pytest.mark.parametrize("tag", ["salt/key", "salt/job/1/new", "salt/run/1/ret", "salt/cloud/x"])
def test_single_form_fires_a_blacklisted_tag_by_default(tag: str) -> None:
    handler, master, session = _requests()
    assert handler.handle(session, _event(tag, {"x": 1})) == {"ok": True}
    assert master.fired == [
        (tag, {"id": "m1", "cmd": "_minion_event", "pretag": None, "data": {"x": 1},
               "tag": tag, "ts": 17}),
    ]  # fmt: skip


def test_single_form_refuses_a_blacklisted_tag_with_the_option() -> None:
    handler, master, session = _requests(refuse_reserved_minion_tags=True)
    with pytest.raises(Refused, match="may not fire 'salt/key'"):
        handler.handle(session, _event("salt/key"))
    assert handler.handle(session, _event("salt/wheel/1/ret")) == {"ok": True}
    assert [tag for tag, _ in master.fired] == ["salt/wheel/1/ret"]


def test_batched_form_drops_blacklisted_tags_and_fires_the_rest_unwrapped() -> None:
    handler, master, session = _requests()
    load = {
        "cmd": "_minion_event",
        "events": [
            {"tag": "my/a", "data": {"n": 1}},
            {"tag": "salt/job/1/new", "data": {"forged": True}},
            {"tag": "my/b", "k": "v"},  # no data: the event map itself, as Salt
        ],
    }
    assert handler.handle(session, load) == {"ok": True, "fired": 2, "dropped": 1}
    assert master.fired == [("my/a", {"n": 1}), ("my/b", {"tag": "my/b", "k": "v"})]


def test_batched_form_with_a_pretag_fires_the_prefixed_tag_first_even_if_blacklisted() -> None:
    handler, master, session = _requests()
    load = {
        "cmd": "_minion_event",
        "pretag": "syndic",
        "events": [{"tag": "salt/job/1/new", "data": {"n": 1}}, {"tag": "my/a", "data": {}}],
    }
    handler.handle(session, load)
    assert [tag for tag, _ in master.fired] == ["syndic/salt/job/1/new", "syndic/my/a", "my/a"]


@pytest.mark.parametrize("form", ["single", "batched"])
def test_saltsim_tags_are_refused_in_both_forms(form: str) -> None:
    handler, master, session = _requests()
    load = (
        _event("saltsim/bus/start")
        if form == "single"
        else {"cmd": "_minion_event", "events": [{"tag": "saltsim/bus/start", "data": {}}]}
    )
    with pytest.raises(Refused, match="saltsim's own tag"):
        handler.handle(session, load)
    assert master.fired == []


def test_every_blacklist_pattern_is_reserved() -> None:
    for pattern in MINION_EVENT_BLACKLIST:
        assert reserved(pattern.replace("*", "20260101000000000000"))
    assert not reserved("salt/wheel/1/ret") and not reserved("salt/keys")


def test_a_job_return_has_an_integer_ts() -> None:
    handler, master, session = _requests()
    jid = "20260101000000000001"
    load = {"cmd": "_return", "jid": jid, "fun": "test.ping", "return": True,
            "retcode": 0, "success": True, "fun_args": [], "ts": 1796188518.75}  # fmt: skip
    handler.handle(session, load)
    ((tag, ret),) = master.fired
    assert tag == f"salt/job/{jid}/ret/m1" and ret["ts"] == 1796188518
    assert type(ret["ts"]) is int


def test_salt_calls_standalone_return_gets_a_jid_of_the_masters() -> None:
    handler, master, session = _requests()
    load = {"cmd": "_return", "jid": "req", "fun": "event.send", "return": True,
            "retcode": 0, "fun_args": ["my/tag", "a=1"], "ts": 5}  # fmt: skip
    answer = handler.handle(session, load)
    ((tag, ret),) = master.fired
    jid = answer["jid"]
    assert tag == f"salt/job/{jid}/ret/m1" and len(jid) == 20
    assert ret == {
        "cmd": "_return", "id": "m1", "jid": jid, "return": True, "retcode": 0,
        "fun": "event.send", "fun_args": ["my/tag", "a=1"], "arg": ["my/tag", "a=1"],
        "tgt": "m1", "tgt_type": "glob", "ts": 5,
    }  # fmt: skip
    assert master.jobs.returns == []  # no job of the master's to complete


BAD_LOADS = [
    {"cmd": "_minion_event", "tag": 7},
    {"cmd": "_minion_event", "tag": ""},
    {"cmd": "_minion_event", "tag": "a\n\nb", "data": {}},
    {"cmd": "_minion_event", "tag": "a/b", "ts": "now"},
    {"cmd": "_minion_event", "tag": "a/b", "ts": True},
    {"cmd": "_minion_event", "tag": "a/b", "pretag": 3},
    {"cmd": "_minion_event", "events": "nope"},
    {"cmd": "_minion_event", "events": [1]},
    {"cmd": "_minion_event", "events": [{"tag": "a", "data": [1]}]},
    {"cmd": "_minion_event", "events": [{"tag": None}]},
    {"cmd": "_minion_event", "events": [{"tag": "a"}] * 1001},
    {"cmd": "_pillar", "grains": ["not", "a", "map"]},
    {"cmd": "_register_resources", "resources": []},
    {"cmd": "_return", "jid": "123"},
    {"cmd": "_return", "jid": None},
    {"cmd": "_return", "jid": "20260101000000000001", "fun_args": "a"},
    {"cmd": "_return", "jid": "20260101000000000001", "retcode": "0"},
    {"cmd": "_return", "jid": "20260101000000000001", "ts": [1]},
    {"cmd": "_return", "jid": "req", "fun": None},
    {"cmd": "_return", "jid": "req", "fun": "f", "fun_args": {"a": 1}},
    {"cmd": "_nope"},
    {"cmd": None},
]


@pytest.mark.parametrize("load", BAD_LOADS, ids=range(len(BAD_LOADS)))
def test_a_bad_load_is_refused_and_fires_nothing(load: dict[str, Any]) -> None:
    handler, master, session = _requests()
    with pytest.raises(Refused):
        handler.handle(session, load)
    assert master.fired == []


_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)


@settings(max_examples=300, deadline=None)
@given(
    cmd=st.sampled_from(["_minion_event", "_return", "_pillar", "_register_resources"]),
    fields=st.dictionaries(
        st.sampled_from(["tag", "data", "events", "pretag", "ts", "jid", "fun", "fun_args",
                         "retcode", "return", "grains", "resources", "success"]),
        _VALUES,
        max_size=6,
    ),
)  # fmt: skip
def test_any_load_is_answered_or_refused(cmd: str, fields: dict[str, Any]) -> None:
    """Whatever a minion sends, the handler answers a map or raises Refused: nothing else
    escapes to the request loop."""
    handler, _, session = _requests()
    try:
        answer = handler.handle(session, {"cmd": cmd, **fields})
    except Refused:
        return
    assert isinstance(answer, dict) and answer.get("ok") is True
