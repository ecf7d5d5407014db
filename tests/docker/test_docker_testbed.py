"""The containerised testbed: minion containers sign in, go away in every way, come back.

One stack serves the module; every test leaves its minions connected again.
Waits are on recorded events with one deadline each; nothing sleeps.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from docker_matrix import EXPECTED, START, WOKEN, canonical, project

from saltsim.event import Event
from saltsim.recorder import Recorder
from saltsim.testbed.docker_backend import DockerTestbed

pytestmark = [pytest.mark.docker, pytest.mark.usefixtures("docker_engine")]

IDS = ("m1", "m2", "m3")
MASTER = {
    "auto_accept": True,
    "presence_events": True,
    "loop_interval": 1.0,
    "heartbeat_timeout": 3.0,
}
MINION = {"heartbeat_interval": 0.5, "acceptance_wait_time": 1.0, "request_timeout": 3.0}


def _present(ids: tuple[str, ...] | list[str]):  # type: ignore[no-untyped-def]
    def accept(event: Event) -> bool:
        return event.tag == "salt/presence/present" and event.data["present"] == sorted(ids)

    accept.__name__ = f"salt/presence/present == {sorted(ids)}"
    return accept


def _change(key: str, minion_id: str):  # type: ignore[no-untyped-def]
    def accept(event: Event) -> bool:
        return event.tag == "salt/presence/change" and minion_id in event.data[key]

    accept.__name__ = f"salt/presence/change with {minion_id} in {key}"
    return accept


def _auth(minion_id: str, act: str):  # type: ignore[no-untyped-def]
    def accept(event: Event) -> bool:
        return event.tag == "salt/auth" and event.data == {
            **event.data,
            "id": minion_id,
            "act": act,
        }

    accept.__name__ = f"salt/auth {act} for {minion_id}"
    return accept


@pytest.fixture(scope="module")
def bed(docker_engine: None) -> Iterator[DockerTestbed]:
    with DockerTestbed(master_options=MASTER, minion_options=MINION) as testbed:
        yield testbed


@pytest.fixture(scope="module")
def recorder(bed: DockerTestbed) -> Iterator[Recorder]:
    with bed.recorder() as rec:
        for minion_id in IDS:
            bed.add_minion(minion_id)
        rec.wait_for(_present(IDS), 90)
        yield rec


def test_three_containers_authenticate_start_and_are_present(
    bed: DockerTestbed, recorder: Recorder
) -> None:
    for minion_id in IDS:
        assert canonical(project(recorder.since(0), minion_id))[: len(START) + 1] == [
            *START,
            "new",
        ]
        start = recorder.wait_for(f"salt/minion/{minion_id}/start", 1)
        assert start.data["id"] == minion_id and start.data["cmd"] == "_minion_event"
    with bed.client() as client:
        assert client.key("list")["accepted"] == sorted(IDS)
    assert recorder.lost == 0


@pytest.mark.parametrize("how", ["stop", "kill", "pause", "disconnect"])
def test_container_that_goes_away_is_lost_then_new_again(
    bed: DockerTestbed, recorder: Recorder, how: str
) -> None:
    go, back = {
        "stop": (bed.stop_minion, bed.start_minion),
        "kill": (bed.kill_minion, bed.start_minion),
        "pause": (bed.pause_minion, bed.unpause_minion),
        "disconnect": (bed.disconnect_minion, bed.reconnect_minion),
    }[how]
    since = recorder.mark()
    go("m2")
    recorder.wait_for(_change("lost", "m2"), 30, since=since)
    recorder.wait_for(_present(["m1", "m3"]), 10, since=since)
    back("m2")
    recorder.wait_for(_change("new", "m2"), 60, since=since)
    if "start" in EXPECTED[how]:
        recorder.wait_for("salt/minion/m2/start", 30, since=since)
    recorder.wait_for(_present(IDS), 10, since=since)
    assert canonical(project(recorder.since(since), "m2")) == EXPECTED[how]
    for other in ("m1", "m3"):  # the others noticed nothing
        assert project(recorder.since(since), other) == []
    assert recorder.lost == 0


def test_master_restart_brings_every_minion_back_without_new_pending_keys(
    bed: DockerTestbed, recorder: Recorder
) -> None:
    since, lost_before = recorder.mark(), recorder.lost
    bed.restart_master()
    after = recorder.wait_restart(since, 30)
    recorder.wait_for(_present(IDS), 60, since=after)
    events = recorder.since(after)
    # The new bus held its events until the recorder rejoined (bus_hold): nothing missed.
    assert events[0].tag == "saltsim/bus/start" and events[0].seq == 1
    assert recorder.lost == lost_before
    for minion_id in IDS:
        # back by re-authentication only: no pending key, no start events (as Salt)
        assert project(events, minion_id) == EXPECTED["master restart"]
    starts = [(e.seq, e.tag) for e in events if e.tag.endswith("/start") or e.tag == "minion_start"]
    assert starts == [(1, "saltsim/bus/start")]
    with bed.client() as client:
        keys = client.key("list")
        returns, _ = client.cmd("*", "test.ping", timeout=20)  # signed in to the new master
    assert keys["accepted"] == sorted(IDS) and keys["pending"] == []
    assert sorted(returns) == sorted(IDS)
    assert recorder.restarts == 1


def test_key_delete_with_auto_accept_signs_the_minion_back_in_at_the_next_publication(
    bed: DockerTestbed, recorder: Recorder
) -> None:
    since = recorder.mark()
    with bed.client() as client:
        client.key("delete", "m3")
        rotated = recorder.wait_for("key", 30, since=since)
        quiet = recorder.wait_for(_present(["m1", "m2"]), 10, since=recorder.mark())
        assert project(recorder.since(since), "m3") == EXPECTED["delete (auto_accept)"]
        assert recorder.events.index(rotated) < recorder.events.index(quiet)  # still quiet
        client.cmd("m1", "test.ping", timeout=20)  # the publication reaches m3 too
        recorder.wait_for(_present(IDS), 30, since=recorder.mark())
        assert client.key("list")["accepted"] == sorted(IDS)
    words = project(recorder.since(since), "m3")
    assert words == EXPECTED["delete (auto_accept)"] + WOKEN["delete (auto_accept)"]


def test_key_delete_loses_the_minion_rotates_and_the_others_reauthenticate(
    docker_engine: None,
) -> None:
    ids = ("k1", "k2", "k3")
    with (
        DockerTestbed(master_options={**MASTER, "auto_accept": False}, minion_options=MINION) as kb,
        kb.recorder() as recorder,
        kb.client() as client,
    ):
        for minion_id in ids:
            kb.add_minion(minion_id)
        for minion_id in ids:
            recorder.wait_for(_auth(minion_id, "pend"), 60)
        client.key("accept", "k*")
        recorder.wait_for(_present(ids), 60)
        since = recorder.mark()
        client.key("delete", "k3")
        recorder.wait_for(_change("lost", "k3"), 30, since=since)
        rotated = recorder.wait_for("key", 30, since=since)
        # a tick after the rotation: k3 made no request (its heartbeats are answered "quiet")
        recorder.wait_for("salt/presence/present", 10, since=recorder.events.index(rotated) + 1)
        assert project(recorder.since(since), "k3") == EXPECTED["delete"]
        returns, _ = client.cmd("k[12]", "test.ping", timeout=20)  # re-auth on the new key
        assert sorted(returns) == ["k1", "k2"]
        for other in ("k1", "k2"):
            recorder.wait_for(_auth(other, "accept"), 20, since=since)
        first = recorder.wait_for(_auth("k3", "pend"), 30, since=since)  # woken: it pends
        recorder.wait_for(_auth("k3", "pend"), 30, since=recorder.events.index(first) + 1)
        words = project(recorder.since(since), "k3")
        assert words[: len(EXPECTED["delete"]) + 1] == EXPECTED["delete"] + WOKEN["delete"]
        assert set(words[len(EXPECTED["delete"]) :]) == {"auth pend"}  # every retry
        assert client.key("list")["pending"] == ["k3"]
        assert recorder.lost == 0
