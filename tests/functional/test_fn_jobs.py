"""Jobs and runners: every targeting form, no-match, kwargs, runner events, both dialects."""

from __future__ import annotations

from typing import Any

import pytest

from saltsim.client import EventClient
from saltsim.event import Event
from saltsim.testbed.local import LocalTestbed

pytestmark = pytest.mark.functional

IDS = ("web1", "web2", "db1")
RET_KEYS = {"cmd", "id", "success", "return", "retcode", "jid", "fun", "fun_args", "user", "ts"}
NEW_KEYS = {"jid", "tgt_type", "tgt", "user", "fun", "arg", "minions", "missing"}


@pytest.fixture(scope="module", params=["3008", "3006"])
def testbed_options(request: pytest.FixtureRequest) -> dict[str, Any]:
    return {
        "dialect": request.param,
        "master_options": {"auto_accept": True},
        "minion_options": {"heartbeat_interval": 1},
    }


@pytest.fixture(scope="module")
def bed(module_testbed: LocalTestbed) -> LocalTestbed:
    """The module's testbed (one per dialect) with ``IDS`` started, grains set."""
    tb = module_testbed
    events = tb.listener()
    events.subscribe("salt/minion/")
    for minion_id in IDS:
        role = "db" if minion_id.startswith("db") else "web"
        tb.add_minion(minion_id, grains={"roles": [role], "site": {"dc": "ams"}})
    for minion_id in IDS:
        events.wait_for(f"salt/minion/{minion_id}/start", 30)
    events.close()
    return tb


def _job_events(events: EventClient) -> list[Event]:
    return [e for e in events.collect() if not e.tag.startswith("saltsim/")]


@pytest.mark.parametrize(
    ("tgt", "tgt_type", "expected"),
    [
        ("web*", "glob", ["web1", "web2"]),
        ("db1,web2,ghost", "list", ["db1", "web2"]),
        ("roles:db", "grain", ["db1"]),
        ("G@site:dc:ams and not web2", "compound", ["db1", "web1"]),
        ("L@db1,ghost or web2", "compound", ["db1", "web2"]),  # Salt: an L@ term's missing
    ],
)
def test_job_events_for_each_targeting_form(
    bed: LocalTestbed, tgt: str, tgt_type: str, expected: list[str]
) -> None:
    with bed.listener() as events, bed.client() as client:
        returns, minions = client.cmd(tgt, "test.ping", tgt_type=tgt_type, timeout=20)
        assert sorted(minions) == expected and sorted(returns) == expected
        seen = _job_events(events)
    jid = returns[expected[0]]["jid"]
    assert len(jid) == 20 and jid.isdigit()
    tags = [e.tag for e in seen]
    head = (
        [jid, f"salt/job/{jid}/new"]
        if bed.dialect == "3006"
        else [f"salt/job/{jid}/new", f"salt/job/{jid}/publish"]
    )
    assert tags[: len(head)] == head
    assert sorted(tags[len(head) :]) == sorted(f"salt/job/{jid}/ret/{m}" for m in expected)
    new = next(e for e in seen if e.tag.endswith("/new")).data
    assert set(new) == NEW_KEYS
    assert new["missing"] == (["ghost"] if "ghost" in tgt else [])
    assert sorted(new["minions"]) == expected and new["tgt_type"] == tgt_type
    if bed.dialect == "3006":
        assert seen[0].data == {"minions": new["minions"]}
    else:
        publish = seen[1].data
        assert publish == {
            "fun": "test.ping",
            "arg": [],
            "tgt": tgt,
            "jid": jid,
            "ret": "",
            "tgt_type": tgt_type,
            "user": "root",
        }
    for event in seen[len(head) :]:
        assert set(event.data) == RET_KEYS
        assert event.data["return"] is True and event.data["success"] is True
        assert type(event.data["ts"]) is int  # Salt's int(time.time()), not a float


def test_list_target_keeps_the_targets_order(bed: LocalTestbed) -> None:
    """As Salt's ``_check_list_minions``: ``minions`` and ``missing`` follow the target."""
    with bed.listener() as events, bed.client() as client:
        published = client.publish(["web2", "ghost", "db1", "alien"], "test.ping", tgt_type="list")
        # Both returns, in completion order, so none lands in a later test's window.
        rets = [events.wait_for(f"salt/job/{published['jid']}/ret/", 20) for _ in range(2)]
    assert sorted(ret.data["id"] for ret in rets) == ["db1", "web2"]
    assert published["minions"] == ["web2", "db1"]
    assert published["missing"] == ["ghost", "alien"]


def test_no_match_fires_nothing(bed: LocalTestbed) -> None:
    with bed.listener() as events, bed.client() as client:
        published = client.publish("nothing-here*", "test.ping")
        assert published["jid"] == "" and published["minions"] == []
        assert [e.tag for e in events.collect() if e.tag.startswith(("salt/job/", "2"))] == []


def test_kwargs_travel_as_trailing_kwarg_dict(bed: LocalTestbed) -> None:
    with bed.client() as client:
        returns, _ = client.cmd("web1", "test.arg", ["a", 2], {"k": "v"}, timeout=20)
    ret = returns["web1"]
    # As Salt 3008.3's test.arg: the publication's __pub_* keys come with the caller's.
    assert ret["return"]["args"] == ["a", 2]
    kwargs = ret["return"]["kwargs"]
    assert {k: v for k, v in kwargs.items() if not k.startswith("__pub_")} == {"k": "v"}
    assert kwargs["__pub_fun"] == "test.arg" and kwargs["__pub_jid"] == ret["jid"]
    assert kwargs["__pub_tgt"] == "web1" and kwargs["__pub_arg"] == ret["fun_args"]
    # 3008's minion adds its resource targeting to the publication it runs; 3006 has none.
    if bed.dialect == "3008":
        assert kwargs["__pub_resource_targets"] == [] and kwargs["__pub_minion_is_target"]
        assert kwargs["__pub_pure_resource_target"] is False
    else:
        assert "__pub_minion_is_target" not in kwargs
    assert ret["fun_args"] == ["a", 2, {"__kwarg__": True, "k": "v"}]


def test_failing_function_reports_retcode(bed: LocalTestbed) -> None:
    with bed.client() as client:
        returns, _ = client.cmd("db1", "test.retcode", [3], timeout=20)
        missing, _ = client.cmd("db1", "no.such", timeout=20)
    assert (returns["db1"]["retcode"], returns["db1"]["success"]) == (3, False)
    assert missing["db1"]["return"] == "'no.such' is not available."


def test_runner_events_and_returns(bed: LocalTestbed) -> None:
    with bed.listener() as events, bed.client() as client:
        reply = client.runner("test.arg", ["x"], {"y": 1})
        assert reply["return"] == {"args": ["x"], "kwargs": {"y": 1}}
        jid = reply["jid"]
        new = events.wait_for(f"salt/run/{jid}/new", 20).data
        assert new == {
            "fun": "runner.test.arg",
            "jid": jid,
            "user": "root",
            "fun_args": ["x", {"y": 1}],
        }
        ret = events.wait_for(f"salt/run/{jid}/ret", 20).data
        assert ret == {**new, "return": reply["return"], "success": True}
        failed = client.runner("no.such")
        assert failed["success"] is False
        ret = events.wait_for(f"salt/run/{failed['jid']}/ret", 20).data
        assert ret["retcode"] == 1 and ret["success"] is False


def test_manage_status_job_lands_between_runner_new_and_ret(bed: LocalTestbed) -> None:
    with bed.listener() as events, bed.client() as client:
        reply = client.runner("manage.status")
        assert reply["return"] == {"up": sorted(IDS), "down": []}
        # Read up to the runner's ret, not up to a sentinel of ours: the master's firer and
        # this test's are two connections to the bus, so a sentinel fired after the reply
        # may still overtake the ret the master fired before it.
        tags: list[str] = []
        while f"salt/run/{reply['jid']}/ret" not in tags:
            event = events.next_event(20)
            assert event is not None, f"no salt/run/{reply['jid']}/ret; saw {tags}"
            tags.append(event.tag)
    run_new = tags.index(f"salt/run/{reply['jid']}/new")
    run_ret = tags.index(f"salt/run/{reply['jid']}/ret")
    rets = [i for i, t in enumerate(tags) if t.startswith("salt/job/") and "/ret/" in t]
    assert len(rets) == len(IDS) and all(run_new < i < run_ret for i in rets)


def test_jobs_runners_and_manage(bed: LocalTestbed) -> None:
    with bed.client() as client:
        returns, _ = client.cmd("web2", "test.echo", ["hello"], timeout=20)
        jid = returns["web2"]["jid"]
        assert client.runner("jobs.lookup_jid", [jid])["return"] == {"web2": "hello"}
        listing = client.runner("jobs.list_jobs")["return"]
        assert listing[jid]["Function"] == "test.echo" and listing[jid]["Target"] == "web2"
        assert client.runner("manage.up")["return"] == sorted(IDS)
        assert client.runner("manage.down")["return"] == []
        assert client.runner("manage.present")["return"] == sorted(IDS)
        assert client.runner("test.sleep", [0.1])["return"] is True


def test_minion_event_send_is_wrapped_with_the_publication_keys(bed: LocalTestbed) -> None:
    """As Salt: event.send takes **kwargs, so the minion hands it the publication's keys as
    ``__pub_*`` keywords, and it folds them into the event data beside the user's."""
    with bed.listener() as events, bed.client() as client:
        returns, _ = client.cmd("web1", "event.send", ["my/app/ready", {"n": 1}], timeout=20)
        assert returns["web1"]["return"] is True
        event = events.wait_for("my/app/ready", 20)
    jid = returns["web1"]["jid"]
    assert set(event.data) == {"id", "cmd", "pretag", "data", "tag", "ts"}
    expected = {
        "n": 1,
        "__pub_fun": "event.send",
        "__pub_arg": ["my/app/ready", {"n": 1}],
        "__pub_tgt": "web1",
        "__pub_jid": jid,
        "__pub_ret": "",
        "__pub_tgt_type": "glob",
        "__pub_user": "root",
    }
    if bed.dialect == "3008":  # a 3008 minion adds its resource targeting to the load
        expected |= {
            "__pub_resource_targets": [],
            "__pub_pure_resource_target": False,
            "__pub_minion_is_target": True,
        }
    assert event.data["data"] == expected
    assert event.data["id"] == "web1" and type(event.data["ts"]) is int
    assert event.data["cmd"] == "_minion_event" and event.data["pretag"] is None


def test_minion_event_send_fires_master_reserved_tags_as_salt_does(bed: LocalTestbed) -> None:
    """Salt 3008 filters its MINION_EVENT_BLACKLIST only in the batched form of
    _minion_event: event.send's single tag is fired whatever it is (refusing it is the
    refuse_reserved_minion_tags option, off by default)."""
    reserved = ("salt/key", "salt/job/20260101000000000000/new", "salt/run/1/new")
    with bed.listener() as events, bed.client() as client:
        for tag in reserved:
            returns, _ = client.cmd("web1", "event.send", [tag, {"forged": True}], timeout=20)
            assert returns["web1"]["return"] is True
            event = events.wait_for(tag, 20)
            assert event.data["cmd"] == "_minion_event" and event.data["id"] == "web1"
            assert event.data["data"]["forged"] is True


def test_reserved_minion_tags_refused_with_the_option() -> None:
    # its own testbed: the plugin's would repeat it for each dialect of the module's options
    with LocalTestbed(
        master_options={"auto_accept": True, "refuse_reserved_minion_tags": True}
    ) as bed:
        with bed.listener() as events:
            events.subscribe("salt/minion/")
            bed.add_minion("web1")
            events.wait_for("salt/minion/web1/start", 30)
        with bed.listener() as events, bed.client() as client:
            for tag in ("salt/key", "salt/job/20260101000000000000/new", "salt/run/1/new"):
                returns, _ = client.cmd("web1", "event.send", [tag], timeout=20)
                assert returns["web1"]["return"] is False
            returns, _ = client.cmd("web1", "event.send", ["salt/wheel/1/ret"], timeout=20)
            assert returns["web1"]["return"] is True  # not in the blacklist
            events.wait_for("salt/wheel/1/ret", 20)
            tags = [e.tag for e in events.collect()]
    assert not {"salt/key", "salt/job/20260101000000000000/new", "salt/run/1/new"} & set(tags)
