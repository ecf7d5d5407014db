"""The cloud runner against a provider speaking the cloud-sim contract: each VM's events
and payloads, parallel creation, destroy and its key, listings, and every failure kind
(the stages reached, the error event, the cleanup, the CLI's exit code and message)."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cloud_support import FakeCloud, ProviderView

from saltsim.event import Event
from saltsim.recorder import Recorder
from saltsim.testbed.local import LocalTestbed, free_ports

pytestmark = pytest.mark.functional

WAIT = 30.0  # one deadline for whatever a step waits on
CLOUD_TIMEOUT = 2.0  # the stuck-pending case waits this long
CREATE_STAGES = ["creating", "requesting", "querying", "waiting_for_ssh", "deploying", "created"]
MINION = {"heartbeat_interval": 1, "acceptance_wait_time": 0.5}
Setup = tuple[LocalTestbed, ProviderView, FakeCloud | None]  # the fake, or None: cloud-sim


@pytest.fixture(scope="module", params=["fake", "cloud-sim"])
def setup(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Setup]:
    """A master whose providers are ``sim`` (the in-test fake, or cloud-sim as the local
    testbed starts it) and ``dead`` (nothing listens). Its own life cycle, not the
    plugin's testbed: the provider's URL is known only once the testbed exists, and goes
    into the master's options before the master starts."""
    (dead_port,) = free_ports(1)
    profile = {"provider": "sim", "image": "debian-12", "size": "small", "minion": MINION}
    options: dict[str, Any] = {
        "cloud_profiles": {
            "small": profile,
            "keep": {**profile, "preaccept": False, "delete_key": False},
            "nowhere": {**profile, "provider": "dead"},
        },
        "cloud_timeout": CLOUD_TIMEOUT,
        "cloud_poll_interval": 0.1,
    }
    tb = LocalTestbed(master_options=options)
    fake = FakeCloud(tmp_path_factory.mktemp("cloud")) if request.param == "fake" else None
    try:
        if fake is not None:
            url = host_url = fake.start()
            fake.bed = tb
        else:
            url = tb.start_cloud(provision_delay=0.3, shutdown_delay=0.2)
            host_url = tb.cloud_url_host
        tb.master_options["cloud_providers"] = {
            "sim": {"driver": "saltsim", "url": url},
            "dead": {"driver": "saltsim", "url": f"http://127.0.0.1:{dead_port}"},
        }
        with tb:  # it stops cloud-sim too (or the fake's minions)
            yield tb, ProviderView(host_url), fake
    finally:
        if fake is not None:
            fake.close()


@pytest.fixture
def bed(setup: Setup) -> LocalTestbed:
    return setup[0]


@pytest.fixture
def cloud(setup: Setup) -> ProviderView:
    return setup[1]


@pytest.fixture
def recorder(bed: LocalTestbed) -> Iterator[Recorder]:
    with Recorder(bed.bus_pub, bed.bus_pull) as rec:
        yield rec


def settle(recorder: Recorder) -> list[Event]:
    """Everything on the bus so far (a sentinel fired now has come back), saltsim's own
    events left out."""
    tag = f"test/settle/{uuid.uuid4().hex}"
    since = recorder.mark()
    assert recorder.fire(tag, {})
    recorder.wait_for(tag, WAIT, since=since)
    return [e for e in recorder.since(0) if not e.tag.startswith(("saltsim/", "test/settle/"))]


def cloud_events(events: list[Event], name: str) -> list[Event]:
    return [e for e in events if e.tag.startswith(f"salt/cloud/{name}/")]


def stages(events: list[Event], name: str) -> list[str]:
    return [e.tag.rsplit("/", 1)[1] for e in cloud_events(events, name)]


def runner(bed: LocalTestbed, fun: str, *arg: Any, **kwarg: Any) -> dict[str, Any]:
    with bed.client() as client:
        return client.runner(fun, list(arg), kwarg)


def saltsim_run(bed: LocalTestbed, *words: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "saltsim", "run", "-c", str(bed.master_config), *words],
        capture_output=True,
        text=True,
        timeout=120,
    )


def key_state(bed: LocalTestbed, name: str) -> list[str]:
    with bed.client() as client:
        listing = client.key("list")
    return [state for state, ids in listing.items() if name in ids]


def test_profile_creates_in_parallel_then_each_minion_signs_in(
    bed: LocalTestbed, cloud: ProviderView, recorder: Recorder
) -> None:
    reply = runner(bed, "cloud.profile", "small", "par1", "par2")
    assert reply["success"] is True, reply["return"]
    for name in ("par1", "par2"):
        recorder.wait_for(f"salt/minion/{name}/start", WAIT)
    events = settle(recorder)
    instances = {i["name"]: i for i in cloud.live()}
    for name in ("par1", "par2"):
        node = reply["return"][name]
        instance = instances[name]
        assert node == {
            "id": instance["id"],
            "image": "debian-12",
            "size": "small",
            "state": "running",
            "private_ips": [instance["private_ip"]],
            "public_ips": [],
        }
        port = bed.ports["ret_port"]
        assert [(e.tag, e.data) for e in cloud_events(events, name)] == [
            (
                f"salt/cloud/{name}/creating",
                {
                    "event": "starting create",
                    "name": name,
                    "profile": "small",
                    "provider": "sim",
                    "driver": "saltsim",
                },
            ),
            (
                f"salt/cloud/{name}/requesting",
                {
                    "event": "requesting instance",
                    "name": name,
                    "image": "debian-12",
                    "size": "small",
                },
            ),
            (
                f"salt/cloud/{name}/querying",
                {"event": "querying instance", "instance_id": instance["id"]},
            ),
            (
                f"salt/cloud/{name}/waiting_for_ssh",
                {"event": "waiting for ssh", "ip_address": instance["private_ip"]},
            ),
            (
                f"salt/cloud/{name}/deploying",
                {
                    "event": "executing deploy script",
                    "master": "127.0.0.1",
                    "master_port": port,
                    "minion_id": name,
                    "options": {"dialect": "3008", **MINION},
                },
            ),
            (
                f"salt/cloud/{name}/created",
                {
                    "event": "created instance",
                    "name": name,
                    "profile": "small",
                    "provider": "sim",
                    "driver": "saltsim",
                    "instance_id": instance["id"],
                },
            ),
        ]
        tags = [e.tag for e in events]
        created = tags.index(f"salt/cloud/{name}/created")
        auth = next(
            i for i, e in enumerate(events) if e.tag == "salt/auth" and e.data["id"] == name
        )
        # The pre-seeded key is accepted: no pend, no salt/key; the sign-in follows created.
        assert created < auth < tags.index(f"salt/minion/{name}/start")
        assert events[auth].data["act"] == "accept"
        assert key_state(bed, name) == ["accepted"]
    # Parallel: the second VM was being created before the first one was done.
    tags = [e.tag for e in events]
    assert tags.index("salt/cloud/par2/creating") < tags.index("salt/cloud/par1/querying")
    assert not [e for e in events if e.tag == "salt/key"]


def test_destroy_fires_destroying_destroyed_then_deletes_the_key(
    bed: LocalTestbed, cloud: ProviderView, recorder: Recorder
) -> None:
    assert runner(bed, "cloud.profile", "small", "gone1")["success"] is True
    recorder.wait_for("salt/minion/gone1/start", WAIT)
    since = recorder.mark()
    reply = runner(bed, "cloud.destroy", "gone1")
    assert reply["success"] is True, reply["return"]
    assert reply["return"]["gone1"]["state"] == "terminated"
    events = settle(recorder)[since:]
    tags = [e.tag for e in events]
    assert stages(events, "gone1") == ["destroying", "destroyed"]
    assert [e.data for e in cloud_events(events, "gone1")] == [
        {"event": "destroying instance", "name": "gone1"},
        {"event": "destroyed instance", "name": "gone1"},
    ]
    delete = tags.index("salt/key")
    assert events[delete].data == {"result": True, "act": "delete", "id": "gone1"}
    assert tags.index("salt/cloud/gone1/destroyed") < delete
    assert not [e for e in events if e.tag == "salt/auth"]
    assert key_state(bed, "gone1") == []
    assert "gone1" not in {i["name"] for i in cloud.live()}
    again = runner(bed, "cloud.destroy", "gone1")
    assert again["success"] is False
    assert "gone1 failed: no pending or running instance" in again["return"]


def test_profile_without_preaccept_pends_and_destroy_keeps_the_key(
    bed: LocalTestbed, recorder: Recorder
) -> None:
    assert runner(bed, "cloud.profile", "keep", "kept1")["success"] is True
    auth = recorder.wait_for(
        lambda e: e.tag == "salt/auth" and e.data.get("id") == "kept1", WAIT, what="kept1's auth"
    )
    assert auth.data["act"] == "pend"
    assert runner(bed, "cloud.destroy", "kept1")["success"] is True
    # the master's events and settle()'s sentinel travel on two bus connections: wait for
    # the last stage first, or the sentinel may overtake it
    recorder.wait_for("salt/cloud/kept1/destroyed", WAIT)
    events = settle(recorder)
    assert stages(events, "kept1") == [*CREATE_STAGES, "destroying", "destroyed"]
    assert not [e for e in events if e.tag == "salt/key"]
    assert key_state(bed, "kept1") == ["pending"]


def test_list_nodes_and_query(bed: LocalTestbed, cloud: ProviderView) -> None:
    assert runner(bed, "cloud.profile", "small", "listed1")["success"] is True
    (instance,) = [i for i in cloud.live() if i["name"] == "listed1"]
    nodes = runner(bed, "cloud.list_nodes", provider="sim")["return"]
    assert list(nodes) == ["sim"] and list(nodes["sim"]) == ["saltsim"]
    assert nodes["sim"]["saltsim"]["listed1"] == {
        "id": instance["id"],
        "image": "debian-12",
        "size": "small",
        "state": "running",
        "private_ips": [instance["private_ip"]],
        "public_ips": [],
    }
    minimal = runner(bed, "cloud.query", query_type="list_nodes_min")["return"]
    assert minimal["sim"]["saltsim"]["listed1"] == {"id": instance["id"], "state": "running"}
    full = runner(bed, "cloud.query", "list_nodes_full", provider="sim")["return"]
    assert full["sim"]["saltsim"]["listed1"]["launch_time"] == instance["launch_time"]
    # Among all, a provider that does not answer lists nothing (as salt-cloud); asked by
    # name, it fails the runner.
    everywhere = runner(bed, "cloud.list_nodes")["return"]
    assert everywhere["dead"] == {"saltsim": {}} and "listed1" in everywhere["sim"]["saltsim"]
    dead = runner(bed, "cloud.list_nodes", provider="dead")
    assert dead["success"] is False
    assert dead["return"].startswith("cloud provider dead: Unreachable: GET http://127.0.0.1:")
    bad = runner(bed, "cloud.query", query_type="list_everything")
    assert bad["success"] is False and "query_type must be one of" in bad["return"]
    assert runner(bed, "cloud.destroy", "listed1")["success"] is True


FAILURES = [
    ("quota", ["creating", "requesting"], "QuotaExceeded: "),
    ("create_error", ["creating", "requesting"], "InternalError: "),
    ("stuck_pending", ["creating", "requesting", "querying"], "Timeout: instance i-"),
    ("lost_during_boot", ["creating", "requesting", "querying"], "InstanceTerminated: "),
]


@pytest.mark.parametrize(("kind", "reached", "error"), FAILURES, ids=[f[0] for f in FAILURES])
def test_each_failure_kind_reports_stage_cleans_up_and_fails_the_cli(
    bed: LocalTestbed,
    cloud: ProviderView,
    recorder: Recorder,
    kind: str,
    reached: list[str],
    error: str,
) -> None:
    name = f"bad-{kind.replace('_', '-')}"
    cloud.inject(kind)
    done = saltsim_run(bed, "cloud.profile", "small", name)
    events = settle(recorder)
    assert stages(events, name) == [*reached, "error"]
    failure = cloud_events(events, name)[-1].data
    assert failure["event"] == "create failed" and failure["stage"] == reached[-1]
    assert failure["error"].startswith(error), failure
    if kind == "lost_during_boot":
        assert failure["error"].endswith("lost during boot")
    message = f"cloud.profile: {name} failed at {reached[-1]}: {failure['error']}"
    assert (done.returncode, done.stdout.strip()) == (1, message), done.stderr
    # this run's ret: on the module's shared master another test's runner may land in the window
    ret = next(
        e
        for e in events
        if e.tag.startswith("salt/run/")
        and e.tag.endswith("/ret")
        and e.data.get("fun_args", [])[-1:] == [name]
    )
    assert (ret.data["success"], ret.data["retcode"], ret.data["return"]) == (False, 1, message)
    # Cleanup: no instance left alive, no key, no minion.
    assert name not in {i["name"] for i in cloud.live()}
    assert key_state(bed, name) == []
    assert not [e for e in events if e.tag in ("salt/auth", "salt/key")]


def test_a_failed_deploy_removes_the_pre_seeded_key_and_the_instance(
    setup: Setup, recorder: Recorder
) -> None:
    bed, cloud, fake = setup
    if fake is None:
        cloud.inject("deploy_error")
    else:
        fake.fail_deploys = 1
    reply = runner(bed, "cloud.profile", "small", "nodeploy1")
    events = settle(recorder)
    assert stages(events, "nodeploy1") == [*CREATE_STAGES[:-1], "error"]
    assert reply["return"] == (
        "cloud.profile: nodeploy1 failed at deploying: InternalError: deploy script failed "
        "(injected fault)"
    )
    assert key_state(bed, "nodeploy1") == []
    assert "nodeploy1" not in {i["name"] for i in cloud.live()}
    assert not [e for e in events if e.tag in ("salt/auth", "salt/key")]


def test_one_failed_vm_of_several_fails_the_runner_naming_both(
    bed: LocalTestbed, cloud: ProviderView, recorder: Recorder
) -> None:
    cloud.inject("quota")
    reply = runner(bed, "cloud.profile", "small", "mix1", "mix2")
    assert reply["success"] is False
    events = settle(recorder)
    failed = [n for n in ("mix1", "mix2") if stages(events, n)[-1] == "error"]
    made = [n for n in ("mix1", "mix2") if stages(events, n) == CREATE_STAGES]
    assert len(failed) == 1 and len(made) == 1, [e.tag for e in events]
    assert reply["return"].startswith(
        f"cloud.profile: {failed[0]} failed at requesting: QuotaExceeded: "
    )
    assert reply["return"].endswith(f"; created: {made[0]}")
    assert runner(bed, "cloud.destroy", made[0])["success"] is True


def test_unreachable_provider_and_bad_arguments(bed: LocalTestbed, recorder: Recorder) -> None:
    reply = runner(bed, "cloud.profile", "nowhere", "void1")
    assert reply["success"] is False
    assert reply["return"].startswith("cloud.profile: void1 failed at requesting: Unreachable: ")
    assert stages(settle(recorder), "void1") == ["creating", "requesting", "error"]
    since = recorder.mark()
    for arg, message in [
        (["nope", "x1"], "no cloud profile 'nope'; known: keep, nowhere, small"),
        (["small"], "cloud.profile needs at least one VM name"),
        (["small", "a/b"], "cloud.profile: 'a/b' cannot be a VM (minion) name"),
        (["small", "x1", "x1"], "cloud.profile: x1 named twice"),
        ([], "cloud.profile needs a profile and VM names: PROFILE NAME [NAME ...]"),
    ]:
        with bed.client() as client:
            bad = client.runner("cloud.profile", arg)
        assert (bad["success"], bad["return"]) == (False, message)
    with bed.client() as client:
        bad = client.runner("cloud.create", ["sim", "x2"], {"image": "debian-12"})
    assert bad["return"] == "cloud.create needs size=... (a non-empty string)"
    assert not [e for e in settle(recorder)[since:] if e.tag.startswith("salt/cloud/")]


def test_create_without_a_profile(bed: LocalTestbed, recorder: Recorder) -> None:
    reply = runner(
        bed, "cloud.create", "sim", "plain1", image="debian-12", size="tiny", minion=MINION
    )
    assert reply["success"] is True, reply["return"]
    recorder.wait_for("salt/minion/plain1/start", WAIT)
    events = settle(recorder)
    assert stages(events, "plain1") == CREATE_STAGES
    creating = cloud_events(events, "plain1")[0].data
    assert creating["profile"] is None and creating["provider"] == "sim"
    assert runner(bed, "cloud.destroy", instances=["plain1"])["success"] is True


def test_config_errors_name_the_option(tmp_path: Path) -> None:
    bad = tmp_path / "master.yaml"
    bad.write_text(
        "cloud_providers: {sim: {driver: saltsim, url: 'http://x'}}\n"
        "cloud_profiles: {small: {provider: aws, image: i, size: s}}\n"
    )
    done = subprocess.run(
        [sys.executable, "-m", "saltsim_master", "-c", str(bad)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "cloud_profiles.small.provider 'aws' is not in cloud_providers (known: sim)" in (
        done.stderr
    )
