"""cloud-sim in the compose stack: an instance's minion is a container it starts through
the engine's socket, on the testbed network, with the session label; it signs in to the
containerised master and is removed on DELETE (and by the testbed's close)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from docker.errors import NotFound

from saltsim.crypto import KeyPair
from saltsim.event import Event
from saltsim.testbed._engine import SESSION_LABEL, engine
from saltsim.testbed.docker_backend import DockerTestbed

pytestmark = [pytest.mark.docker, pytest.mark.usefixtures("docker_engine")]

MASTER = {"auto_accept": True, "presence_events": True, "loop_interval": 1.0}
CLOUD_LABEL = "org.saltsim.cloud"


def _until(
    read: Callable[[], dict[str, Any]], ok: Callable[[dict[str, Any]], bool], timeout: float
) -> dict[str, Any]:
    """Poll ``read`` until ``ok`` takes its answer, within one deadline."""
    deadline = time.monotonic() + timeout
    answer = read()
    while not ok(answer):
        if time.monotonic() >= deadline:
            raise AssertionError(f"not reached within {timeout}s; last answer: {answer}")
        time.sleep(0.1)  # allowed: no push channel for states; deadline-bound poll
        answer = read()
    return answer


def _running(api: httpx.Client, name: str) -> str:
    reply = api.post("/v1/instances", json={"name": name, "image": "debian-12", "size": "small"})
    assert reply.status_code == 201, reply.text
    instance_id: str = reply.json()["instance"]["id"]
    _until(
        lambda: api.get(f"/v1/instances/{instance_id}").json()["instance"],
        lambda i: i["state"] == "running",
        30,
    )
    return instance_id


def _change(key: str, minion_id: str) -> Callable[[Event], bool]:
    def accept(event: Event) -> bool:
        return event.tag == "salt/presence/change" and minion_id in event.data[key]

    accept.__name__ = f"salt/presence/change with {minion_id} {key}"
    return accept


def test_instance_minion_is_a_container_on_the_testbed_network(docker_engine: None) -> None:
    pair = KeyPair.generate()
    pem = pair.private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()
    client = engine()
    bed = DockerTestbed(master_options=MASTER)
    try:
        # the provider first, as a scenario does (the master's config then names it)
        try:
            url = bed.start_cloud(provision_delay=0.2, shutdown_delay=0.2)
        except BaseException:
            bed.close()
            raise
        with bed, bed.recorder() as recorder:
            assert url == "http://cloud-sim:8080"
            assert bed.cloud_url_host == f"http://127.0.0.1:{bed.cloud_port}"
            with httpx.Client(base_url=bed.cloud_url_host, timeout=60) as api:
                health = api.get("/v1/health").json()
                assert health == {"ok": True, "backend": "docker", "instances": 0}
                vm1 = _running(api, "vm1")
                deploy = {"master": "master", "master_port": 4506, "minion_id": "vm1"}
                body = {**deploy, "pem": pem, "pub": pair.public_pem}
                body["options"] = {"heartbeat_interval": 0.5, "dialect": "3008"}
                reply = api.post(f"/v1/instances/{vm1}/deploy", json=body)
                assert reply.status_code == 200, reply.text
                name = reply.json()["minion"]
                assert name == f"{bed.project}-vm-vm1"
                recorder.wait_for("salt/minion/vm1/start", 90)
                recorder.wait_for(_change("new", "vm1"), 30)  # present, so it can be lost

                container = client.containers.get(name)
                assert container.labels[SESSION_LABEL] == bed.session
                assert container.labels[CLOUD_LABEL] == vm1
                assert container.attrs["Config"]["Hostname"] == "vm1"
                assert list(container.attrs["NetworkSettings"]["Networks"]) == [
                    f"{bed.project}_saltnet"
                ]
                code, out = container.exec_run(["cat", "/var/lib/saltsim/minion/pki/minion.pub"])
                assert (code, out.decode()) == (0, pair.public_pem)  # the deployed key pair

                mark = recorder.mark()
                assert api.delete(f"/v1/instances/{vm1}").status_code == 202
                recorder.wait_for(_change("lost", "vm1"), 60, since=mark)
                _until(
                    lambda: api.get(f"/v1/instances/{vm1}").json()["instance"],
                    lambda i: i["state"] == "terminated",
                    60,
                )
                with pytest.raises(NotFound):
                    client.containers.get(name)

                # one left running: the testbed's close() removes it
                vm2 = _running(api, "vm2")
                deploy["minion_id"] = "vm2"
                assert api.post(f"/v1/instances/{vm2}/deploy", json=deploy).status_code == 200
                recorder.wait_for("salt/minion/vm2/start", 90)
            assert "Traceback" not in bed.logs("cloud-sim")
        leftovers = client.containers.list(
            all=True, filters={"label": [f"{SESSION_LABEL}={bed.session}", CLOUD_LABEL]}
        )
        assert leftovers == []
    finally:
        client.close()
