"""The core's one command table, without sockets: targeting through ``publish`` and
``local``, runners through ``runner``, and the REST API's lowstate clients dispatching
through the very same table."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from saltsim_master.api.errors import BadRequest
from saltsim_master.api.lowstate import Lowstate, chunks_of
from saltsim_master.builtin_runners import JOB_RUNNERS, PLAIN_RUNNERS, PRESENCE_RUNNERS
from saltsim_master.commands import CommandTable, UnknownCommand
from saltsim_master.config import MasterConfig
from saltsim_master.jobs import JidMaker, JobCache
from saltsim_master.keys import KeyStore
from saltsim_master.presence import Presence
from saltsim_master.publisher import JobPublisher
from saltsim_master.registry import MinionCommand, Service, SignIn, SignInGate, Tick
from saltsim_master.runners import Runners
from saltsim_master.sessions import Sessions

from saltsim.crypto import new_session_key
from saltsim.targeting import TargetError


class Core:
    """The parts' context and registry: the bus and the PUB socket as lists."""

    def __init__(self, tmp_path: Path, dialect: str) -> None:
        self.config = MasterConfig(pki_dir=str(tmp_path / "pki"), dialect=dialect, job_timeout=2)
        self.keys = KeyStore(tmp_path / "pki")
        self.sessions = Sessions()
        self.make_jid = JidMaker()
        self.fired: list[tuple[str, dict[str, Any]]] = []
        self.published: list[dict[str, Any]] = []
        self.commands = CommandTable()
        self.ticks: list[Tick] = []

    def fire(self, tag: str, data: dict[str, Any]) -> None:
        self.fired.append((tag, data))

    def publish(self, load: dict[str, Any]) -> None:
        self.published.append(load)

    def add_tick(self, hook: Tick) -> None:
        self.ticks.append(hook)

    def add_minion_command(self, name: str, handler: MinionCommand) -> None: ...
    def on_sign_in(self, handler: SignIn) -> None: ...
    def add_sign_in_gate(self, gate: SignInGate) -> None: ...
    def add_service(self, service: Service) -> None: ...
    def add_stats(self, name: str, source: Any) -> None: ...


GRAINS = {"web1": {"os": "Debian", "role": "web"}, "db1": {"os": "Alma", "role": "db"}}


class Master:
    """The job parts wired as build_master wires them, on a fake core."""

    def __init__(self, tmp_path: Path, dialect: str = "3008") -> None:
        self.core = core = Core(tmp_path, dialect)
        for minion_id in ("web1", "web2", "db1"):
            core.keys.put("accepted", minion_id, "pem")
        core.keys.put("pending", "web9", "pem")
        self.publisher = JobPublisher(core, _Grains(), JobCache(tmp_path / "cache"))
        presence = Presence(core)
        runners = Runners(core)
        runners.add(JOB_RUNNERS, self.publisher)
        runners.add(PRESENCE_RUNNERS, presence)
        runners.add(PLAIN_RUNNERS, None)
        self.publisher.register(core)
        runners.register(core)

    def dispatch(self, name: str, load: dict[str, Any]) -> dict[str, Any]:
        return asyncio.run(self.core.commands.dispatch(name, load))

    def answer(self, jid: str, minion_id: str, value: Any) -> None:
        ret = {"jid": jid, "id": minion_id, "return": value}
        self.publisher.record_return(minion_id, ret)


class _Grains:
    def get(self, minion_id: str) -> dict[Any, Any]:
        return GRAINS.get(minion_id, {})


def _ping(tgt: Any, tgt_type: str = "glob") -> dict[str, Any]:
    return {"tgt": tgt, "tgt_type": tgt_type, "fun": "test.ping", "arg": [], "user": "u"}


@pytest.mark.parametrize(
    ("tgt", "tgt_type", "minions"),
    [
        ("web*", "glob", ["web1", "web2"]),  # web9 is only pending
        ("*", "glob", ["db1", "web1", "web2"]),
        ("os:Debian", "grain", ["web1"]),
        ("G@role:db or web2", "compound", ["db1", "web2"]),
        (r"web\d", "pcre", ["web1", "web2"]),
    ],
)
def test_publish_targets_the_accepted_minions_the_target_matches(
    tmp_path: Path, tgt: str, tgt_type: str, minions: list[str]
) -> None:
    master = Master(tmp_path)
    reply = master.dispatch("publish", _ping(tgt, tgt_type))
    assert reply["ok"] and reply["minions"] == minions and reply["missing"] == []
    jid = reply["jid"]
    assert [tag for tag, _ in master.core.fired] == [
        f"salt/job/{jid}/new",
        f"salt/job/{jid}/publish",
    ]
    assert master.core.fired[0][1]["minions"] == minions
    assert master.core.published == [
        {"fun": "test.ping", "arg": [], "tgt": tgt, "jid": jid, "ret": "",
         "tgt_type": tgt_type, "user": "u"}
    ]  # fmt: skip


def test_a_list_target_keeps_its_order_and_names_the_missing(tmp_path: Path) -> None:
    master = Master(tmp_path)
    reply = master.dispatch("publish", _ping("web2,nope,db1", "list"))
    assert (reply["minions"], reply["missing"]) == (["web2", "db1"], ["nope"])


def test_a_target_nobody_matches_publishes_nothing(tmp_path: Path) -> None:
    master = Master(tmp_path)
    reply = master.dispatch("publish", _ping("nobody*"))
    assert reply == {"ok": True, "jid": "", "minions": [], "missing": []}
    assert master.core.fired == [] and master.core.published == []


def test_a_3006_master_fires_the_bare_jid_and_no_publish_event(tmp_path: Path) -> None:
    master = Master(tmp_path, dialect="3006")
    jid = master.dispatch("publish", _ping("db1"))["jid"]
    assert master.core.fired[0] == (jid, {"minions": ["db1"]})
    assert [tag for tag, _ in master.core.fired] == [jid, f"salt/job/{jid}/new"]


@pytest.mark.parametrize(
    ("load", "error"),
    [
        (_ping("x", "nonsense"), TargetError),
        ({**_ping("*"), "fun": ""}, ValueError),
        ({**_ping("*"), "arg": "not a list"}, ValueError),
    ],
)
def test_a_bad_publish_raises_for_the_edge_to_refuse(
    tmp_path: Path, load: dict[str, Any], error: type[Exception]
) -> None:
    master = Master(tmp_path)
    with pytest.raises(error):
        master.dispatch("publish", load)
    assert master.core.fired == []


async def _local(master: Master, load: dict[str, Any], answers: dict[str, Any]) -> dict[str, Any]:
    """Dispatch ``local``; once it has published (its first step), the minions answer."""
    waiting = asyncio.create_task(master.core.commands.dispatch("local", load))
    await asyncio.sleep(0)  # allowed: one yield lets the task run up to its wait (job out)
    (published,) = master.core.published
    for minion_id, value in answers.items():
        master.answer(published["jid"], minion_id, value)
    return await waiting


def test_local_waits_for_the_returns_of_the_targeted_minions(tmp_path: Path) -> None:
    master = Master(tmp_path)
    answers = {"web1": True, "web2": "pong"}
    reply = asyncio.run(_local(master, _ping("web*"), answers))
    assert reply["return"] == answers and reply["minions"] == ["web1", "web2"]


def test_local_gives_up_at_its_timeout_with_what_answered(tmp_path: Path) -> None:
    master = Master(tmp_path)
    reply = asyncio.run(_local(master, {**_ping("web*"), "timeout": 0.05}, {"web2": 1}))
    assert reply["return"] == {"web2": 1}


def test_runner_fires_new_and_ret_around_the_runners_return(tmp_path: Path) -> None:
    master = Master(tmp_path)
    load = {"fun": "test.arg", "arg": [1], "kwarg": {"a": 2}, "user": "u"}
    reply = master.dispatch("runner", load)
    assert reply["return"] == {"args": [1], "kwargs": {"a": 2}} and reply["success"]
    (new_tag, new), (ret_tag, ret) = master.core.fired
    assert new_tag == f"salt/run/{reply['jid']}/new" and ret_tag.endswith("/ret")
    assert new == {
        "fun": "runner.test.arg",
        "jid": reply["jid"],
        "user": "u",
        "fun_args": [1, {"a": 2}],
    }
    assert ret["return"] == reply["return"] and ret["success"] is True


def test_an_unknown_runner_fails_as_a_runner_not_as_the_master(tmp_path: Path) -> None:
    master = Master(tmp_path)
    reply = master.dispatch("runner", {"fun": "no.such"})
    assert reply["ok"] and not reply["success"] and reply["return"] == "'no.such' is not available."
    assert master.core.fired[-1][1]["retcode"] == 1


def test_manage_not_present_lists_accepted_minions_without_a_used_session(tmp_path: Path) -> None:
    master = Master(tmp_path)
    master.core.sessions.open("web1", new_session_key()).confirmed = True
    assert master.dispatch("runner", {"fun": "manage.present"})["return"] == ["web1"]
    assert master.dispatch("runner", {"fun": "manage.not_present"})["return"] == ["db1", "web2"]


def test_an_unknown_command_and_a_twice_registered_one(tmp_path: Path) -> None:
    master = Master(tmp_path)
    with pytest.raises(UnknownCommand, match="unknown client cmd 'nope'"):
        master.dispatch("nope", {})
    with pytest.raises(ValueError, match="registered twice"):
        master.publisher.register(master.core)
    assert master.core.commands.names() == ["local", "publish", "runner"]


def test_the_rest_api_lowstate_runs_through_the_same_table(tmp_path: Path) -> None:
    master = Master(tmp_path)
    lowstate = Lowstate(master.core.commands)
    (chunk,) = chunks_of({"client": "runner", "fun": "test.arg", "arg": "x", "y": 1})
    assert asyncio.run(lowstate.run(chunk, "api")) == {"args": ["x"], "kwargs": {"y": 1}}
    (local,) = chunks_of({"client": "local", "tgt": "nobody*", "fun": "test.ping", "timeout": 0.01})
    assert asyncio.run(lowstate.run(local, "api")) == {}
    (bad,) = chunks_of({"client": "local", "tgt": "x", "tgt_type": "nonsense", "fun": "f"})
    with pytest.raises(BadRequest, match="local f: "):
        asyncio.run(lowstate.run(bad, "api"))
    (wheel,) = chunks_of({"client": "wheel", "fun": "key.list_all"})
    with pytest.raises(BadRequest, match="unknown client cmd 'wheel'"):  # not wired here
        asyncio.run(lowstate.run(wheel, "api"))
    assert master.core.fired[0][1]["user"] == "api"


def test_a_compounds_listed_ids_with_no_key_are_missing(tmp_path: Path) -> None:
    """Salt's _check_compound_minions collects its L@ terms' missing ids."""
    master = Master(tmp_path)
    reply = master.dispatch("publish", _ping("G@role:db or (L@web1,nope,web9)", "compound"))
    assert (reply["minions"], reply["missing"]) == (["db1", "web1"], ["nope", "web9"])


def test_local_names_each_id_that_did_not_return_as_salt_3008(tmp_path: Path) -> None:
    """``salt -L`` on Salt 3008.3: a known minion not connected while others are is
    ``[Not connected]``; a silent connected one or an id with no key ``[No response]``
    with the lookup line; silent ones first, then the missing, each sorted."""
    master = Master(tmp_path)
    for minion_id in ("web1", "web2"):  # db1 (grains cached) is not connected
        master.core.sessions.open(minion_id, new_session_key()).confirmed = True
    load = {**_ping("zz,web2,web1,nope,db1", "list"), "timeout": 0.05}
    reply = asyncio.run(_local(master, load, {"web1": True}))
    jid = reply["jid"]
    assert reply["return"] == {"web1": True} and reply["retcode"] == {"web1": 0}
    assert list(reply["no_return"]) == ["db1", "web2", "nope", "zz"]
    assert reply["no_return"]["db1"] == "Minion did not return. [Not connected]"
    for silent in ("web2", "nope", "zz"):
        text = reply["no_return"][silent]
        assert text.startswith("Minion did not return. [No response]\nThe minions may not")
        assert text.endswith(f"\n\nsalt-run jobs.lookup_jid {jid}")


def test_local_gives_each_return_its_retcode(tmp_path: Path) -> None:
    master = Master(tmp_path)
    waiting = asyncio.run(_local_full(master, {**_ping("web*"), "timeout": 1}))
    assert waiting["retcode"] == {"web1": 2, "web2": 1} and waiting["no_return"] == {}


async def _local_full(master: Master, load: dict[str, Any]) -> dict[str, Any]:
    waiting = asyncio.create_task(master.core.commands.dispatch("local", load))
    await asyncio.sleep(0)  # allowed: one yield lets the task run up to its wait (job out)
    (published,) = master.core.published
    jid = published["jid"]
    master.publisher.record_return("web1", {"jid": jid, "id": "web1", "retcode": 2})
    master.publisher.record_return("web2", {"jid": jid, "id": "web2", "success": False})
    return await waiting


@pytest.mark.parametrize("dialect", ["3008", "3006"])
def test_local_gives_salt_api_the_local_clients_answer_per_dialect(
    tmp_path: Path, dialect: str
) -> None:
    """LocalClient.cmd (salt-api's ``local``) for ``up,down,nokey`` (observed): 3008.3 the
    CLI's lines; 3006.29 the missing id's line and False for the silent minion."""
    master = Master(tmp_path, dialect=dialect)
    master.core.sessions.open("web1", new_session_key()).confirmed = True
    load = {**_ping("web1,db1,nope", "list"), "timeout": 0.05}
    reply = asyncio.run(_local(master, load, {"web1": True}))
    answer = reply["client_return"]
    if dialect == "3008":
        assert answer == {"web1": True, **reply["no_return"]}
        assert answer["db1"] == "Minion did not return. [Not connected]"
    else:
        assert list(answer) == ["web1", "nope", "db1"] and answer["db1"] is False
    assert answer["nope"].startswith("Minion did not return. [No response]")
    nobody = master.dispatch("local", _ping("ghost", "list"))
    assert (nobody["jid"], nobody["client_return"]) == ("", {})
