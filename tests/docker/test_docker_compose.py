"""The compose file itself: by hand as docs/docker.md says, scaled replicas, swarm containers."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from saltsim.cli.credentials import container_secret
from saltsim.curve import CurveClient
from saltsim.event import Event
from saltsim.recorder import Recorder
from saltsim.testbed._engine import SESSION_LABEL, compose_command, compose_file, engine
from saltsim.testbed.base import TestbedError
from saltsim.testbed.docker_backend import DockerTestbed, _sweep
from saltsim.testbed.images import ensure_images
from saltsim.testbed.local import free_ports

pytestmark = [pytest.mark.docker, pytest.mark.usefixtures("docker_engine")]


def _present(count: int, prefix: str):  # type: ignore[no-untyped-def]
    def accept(event: Event) -> bool:
        if event.tag != "salt/presence/present":
            return False
        return len([m for m in event.data["present"] if m.startswith(prefix)]) == count

    accept.__name__ = f"salt/presence/present with {count} minions named {prefix}*"
    return accept


@pytest.fixture
def by_hand(tmp_path: Path) -> Iterator[dict[str, str]]:
    """The environment a user would have: the variables docs/docker.md gives on free ports, a
    session label so the test cleans up after itself whatever happens."""
    ensure_images(log=lambda line: None)
    session = f"byhand{uuid.uuid4().hex[:8]}"
    ports = free_ports(6)
    names = ("PUBLISH", "RET", "BUS_PUB", "BUS_PULL", "API", "CLOUD")
    env = {f"SALTSIM_{name}_PORT": str(port) for name, port in zip(names, ports, strict=True)}
    env |= {"SALTSIM_SESSION": session, "SALTSIM_LOOP_INTERVAL": "1"}
    env["SALTSIM_BUS_CLIENT_KEY"] = str(tmp_path / "bus-client.key")  # not the user's own
    yield env
    client = engine()
    try:
        _sweep(client, f"{SESSION_LABEL}={session}")
    finally:
        client.close()


def _host(by_hand: dict[str, str], *argv: str) -> str:
    """A ``saltsim`` command on the host, as docs/docker.md runs it; its stdout."""
    done = subprocess.run(
        [sys.executable, "-m", "saltsim", *argv],
        env={**os.environ, **by_hand},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, f"saltsim {' '.join(argv)}: {done.stderr}"
    return done.stdout


def test_stack_comes_up_by_hand_as_the_readme_says(by_hand: dict[str, str]) -> None:
    """docs/docker.md's "From the host": the user's bus key to the master by environment,
    then the host's tools with --master 127.0.0.1 and nothing copied by hand."""
    argv = [*compose_command(), "-f", str(compose_file()), "-p", by_hand["SALTSIM_SESSION"]]
    export = shlex.split(_host(by_hand, "key", "--gen-bus-key", "--export"))
    assert export[0] == "export"
    name, _, value = export[1].partition("=")
    by_hand[name] = value  # SALTSIM_BUS_CURVE_CLIENTS, as `eval` sets it
    up = [*argv, "up", "-d", "--scale", "minion=3"]
    done = subprocess.run(
        up, env={**os.environ, **by_hand}, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    # `up -d` returns when the master's container started, not when it made its keys
    health = [*argv, "exec", "-T", "master", "python3", "-m", "saltsim.health", "master"]
    ready = subprocess.run(
        [*health, "--wait", "60"],
        env={**os.environ, **by_hand},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ready.returncode == 0, ready.stderr
    # the master's bus key, found as the host's tools find it: in the container that
    # publishes the bus port
    server, _ = container_secret("127.0.0.1", int(by_hand["SALTSIM_BUS_PUB_PORT"]), "bus.pub")
    assert server is not None
    curve = CurveClient.from_secret_file(server, by_hand["SALTSIM_BUS_CLIENT_KEY"])
    bus = f"tcp://127.0.0.1:{by_hand['SALTSIM_BUS_PUB_PORT']}"
    pull = f"tcp://127.0.0.1:{by_hand['SALTSIM_BUS_PULL_PORT']}"
    with Recorder(bus, pull, ready_timeout=60, curve=curve) as recorder:
        # minions started before the recorder could listen: presence shows them all
        recorder.wait_for(_present(3, "minion-"), 60)
        present = next(e for e in reversed(recorder.events) if e.tag == "salt/presence/present")
    assert present.data["present"] == ["minion-1", "minion-2", "minion-3"]
    keys = _host(by_hand, "key", "-L", "--master", "127.0.0.1")
    assert keys.splitlines()[:4] == ["Accepted Keys:", "minion-1", "minion-2", "minion-3"]
    pinged = _host(by_hand, "cmd", "--master", "127.0.0.1", "--out", "json", "*", "test.ping")
    assert json.loads(pinged) == {"minion-1": True, "minion-2": True, "minion-3": True}
    down = subprocess.run(
        [*argv, "down", "-v", "--timeout", "5"],
        env={**os.environ, **by_hand},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert down.returncode == 0, down.stderr


def test_controller_scales_compose_replicas_and_swarm_containers(docker_engine: None) -> None:
    master = {"auto_accept": True, "presence_events": True, "loop_interval": 1.0}
    with (
        DockerTestbed(master_options=master, minion_options={"heartbeat_interval": 0.5}) as bed,
        bed.recorder() as recorder,
    ):
        assert bed.scale("minion", 2) == ["minion-1", "minion-2"]
        for minion_id in ("minion-1", "minion-2"):
            recorder.wait_for(f"salt/minion/{minion_id}/start", 60)
        bed.add_swarm("sw", 5)
        recorder.wait_for(_present(5, "sw-"), 90)
        bed.stop_minion("swarm-sw")  # a restarted swarm loads the keys it made
        recorder.wait_for(_present(0, "sw-"), 30)
        since = recorder.mark()
        bed.start_minion("swarm-sw")
        recorder.wait_for(_present(5, "sw-"), 60, since=since)
        assert bed.scale("minion", 1) == ["minion-1"]  # scaling down removes minion-2
        recorder.wait_for(
            lambda e: e.tag == "salt/presence/change" and "minion-2" in e.data["lost"], 30
        )
        bed.kill_minion("minion-1")  # a compose replica takes faults like any minion
        recorder.wait_for(
            lambda e: e.tag == "salt/presence/change" and "minion-1" in e.data["lost"], 30
        )
        assert "Traceback" not in bed.logs("swarm-sw")


def test_compose_file_stays_valid_for_stack_deploy() -> None:
    """`docker stack config` validates against the Swarm schema without a swarm."""
    probe = subprocess.run(
        ["docker", "stack", "config", "--help"], capture_output=True, text=True, check=False
    )
    if probe.returncode != 0:
        pytest.skip("this docker CLI has no `stack config` to validate with")
    done = subprocess.run(
        ["docker", "stack", "config", "-c", str(compose_file())],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "container_name" not in done.stdout and "build:" not in done.stdout


def test_failed_start_cleans_up_and_raises_with_the_master_logs(docker_engine: None) -> None:
    bed = DockerTestbed(master_options={"loop_interval": -1}, start_timeout=60)
    with pytest.raises(TestbedError) as failure:
        bed.start()
    message = str(failure.value)
    assert "master container exited" in message and "loop_interval" in message
    client = engine()
    try:
        label = {"label": f"{SESSION_LABEL}={bed.session}"}
        assert client.containers.list(all=True, filters=label) == []
        assert client.networks.list(filters=label) == []
        assert client.volumes.list(filters=label) == []
    finally:
        client.close()
