"""cloud-sim on the local backend: its HTTP API, its faults, and instances that become
minions of a real master (processes), then go away again."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization

from saltsim.crypto import KeyPair
from saltsim.deadline import Deadline
from saltsim.event import Event
from saltsim.recorder import Recorder
from saltsim.testbed.base import TestbedError
from saltsim.testbed.local import LocalTestbed

pytestmark = pytest.mark.functional

MASTER = {"auto_accept": True, "presence_events": True, "loop_interval": 1}
MINION = {"heartbeat_interval": 0.5, "acceptance_wait_time": 0.5}
FAST = {"provision_delay": 0.2, "shutdown_delay": 0.2}


# -- helpers ----------------------------------------------------------------------------
def _until(
    read: Callable[[], dict[str, Any]], ok: Callable[[dict[str, Any]], bool], timeout: float
) -> dict[str, Any]:
    """Poll ``read`` until ``ok`` takes its answer, within one deadline (cloud-sim has
    no push channel for instance states)."""
    seen: list[dict[str, Any]] = []

    def check() -> dict[str, Any] | None:
        answer = read()
        if ok(answer):
            return answer
        if not seen or seen[-1] != answer:
            seen.append(answer)
        return None

    try:
        return Deadline(timeout).poll(check, "an answer", interval=0.05)
    except TimeoutError:
        raise AssertionError(f"not reached within {timeout}s; answers seen: {seen[-5:]}") from None


def _instance(api: httpx.Client, instance_id: str) -> dict[str, Any]:
    reply = api.get(f"/v1/instances/{instance_id}")
    assert reply.status_code == 200, reply.text
    found: dict[str, Any] = reply.json()["instance"]
    return found


def _state(api: httpx.Client, instance_id: str, state: str, timeout: float = 20) -> dict[str, Any]:
    return _until(lambda: _instance(api, instance_id), lambda i: i["state"] == state, timeout)


def _create(api: httpx.Client, name: str) -> dict[str, Any]:
    reply = api.post("/v1/instances", json={"name": name, "image": "debian-12", "size": "small"})
    assert reply.status_code == 201, reply.text
    made: dict[str, Any] = reply.json()["instance"]
    return made


def _refused(reply: httpx.Response, status: int, code: str) -> str:
    assert reply.status_code == status, reply.text
    error = reply.json()["error"]
    assert error["code"] == code and isinstance(error["message"], str)
    return str(error["message"])


def _deploy_body(bed: LocalTestbed, minion_id: str, **extra: Any) -> dict[str, Any]:
    body = {"master": "127.0.0.1", "master_port": bed.ports["ret_port"], "minion_id": minion_id}
    return {**body, "options": MINION, **extra}


def _gone(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"  # exited, not yet reaped


def _presence(key: str, minion_id: str) -> Callable[[Event], bool]:
    def accept(event: Event) -> bool:
        return event.tag == "salt/presence/change" and minion_id in event.data[key]

    accept.__name__ = f"salt/presence/change with {minion_id} {key}"
    return accept


# -- fixtures ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def testbed_options() -> dict[str, Any]:
    return {"master_options": MASTER}


@pytest.fixture(scope="module")
def provider() -> Iterator[LocalTestbed]:
    """cloud-sim alone (no master): for the API's own behaviour."""
    tb = LocalTestbed()
    try:
        tb.start_cloud(max_instances=6, **FAST)
        yield tb
    finally:
        tb.close()


@pytest.fixture
def api(provider: LocalTestbed) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=provider.cloud_url_host, timeout=30) as client:
        assert client.delete("/v1/faults").status_code == 200
        yield client
        for instance in client.get("/v1/instances").json()["instances"]:
            client.delete(f"/v1/instances/{instance['id']}")
        _until(  # names and quota free for the next test
            lambda: client.get("/v1/instances").json(),
            lambda a: all(i["state"] == "terminated" for i in a["instances"]),
            20,
        )


# -- instances that become minions ------------------------------------------------------
def test_create_run_deploy_sign_in_destroy(testbed: LocalTestbed) -> None:
    url = testbed.start_cloud(**FAST)
    assert url == testbed.cloud_url_host and url.startswith("http://127.0.0.1:")
    with (
        Recorder(testbed.bus_pub, testbed.bus_pull) as recorder,
        httpx.Client(base_url=url, timeout=30) as api,
    ):
        assert api.get("/v1/health").json() == {"ok": True, "backend": "local", "instances": 0}
        made = _create(api, "vm1")
        assert made["state"] == "pending" and made["private_ip"] is None
        assert made["id"].startswith("i-") and len(made["id"]) == 10
        early = api.post(f"/v1/instances/{made['id']}/deploy", json=_deploy_body(testbed, "vm1"))
        _refused(early, 409, "InvalidState")
        running = _state(api, made["id"], "running")
        assert running["private_ip"].startswith("10.254.")
        assert api.get("/v1/instances").json() == {"instances": [running]}

        mark = recorder.mark()
        reply = api.post(f"/v1/instances/{made['id']}/deploy", json=_deploy_body(testbed, "vm1"))
        assert reply.status_code == 200, reply.text
        pid = int(reply.json()["minion"])
        assert reply.json()["instance"] == running
        recorder.wait_for("salt/minion/vm1/start", 30, since=mark)
        recorder.wait_for(_presence("new", "vm1"), 30, since=mark)
        again = api.post(f"/v1/instances/{made['id']}/deploy", json=_deploy_body(testbed, "vm1"))
        assert "already has a minion" in _refused(again, 409, "InvalidState")

        mark = recorder.mark()
        reply = api.delete(f"/v1/instances/{made['id']}")
        assert reply.status_code == 202 and reply.json()["instance"]["state"] == "shutting-down"
        recorder.wait_for(_presence("lost", "vm1"), 30, since=mark)
        done = _state(api, made["id"], "terminated")
        assert done["state_reason"] == "user initiated"
        assert _gone(pid)
        assert not (testbed.workdir / "cloud" / made["id"]).exists()
        assert (testbed.workdir / "cloud" / "logs" / f"{made['id']}.log").is_file()  # kept
        # the name is free again; the terminated one stays listed
        second = _create(api, "vm1")
        listed = [i["id"] for i in api.get("/v1/instances").json()["instances"]]
        assert listed == [made["id"], second["id"]]


@pytest.mark.testbed_options(master_options={**MASTER, "auto_accept": False})
def test_a_deployed_key_pair_is_the_minions_and_can_be_pre_accepted(testbed: LocalTestbed) -> None:
    pair = KeyPair.generate()
    pem = pair.private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()
    accepted = Path(testbed.master_options["pki_dir"]) / "minions"
    accepted.mkdir(parents=True, exist_ok=True)
    (accepted / "vm2").write_text(pair.public_pem)  # as a profile that pre-accepts
    with (
        Recorder(testbed.bus_pub, testbed.bus_pull) as recorder,
        httpx.Client(base_url=testbed.start_cloud(**FAST), timeout=30) as api,
    ):
        made = _create(api, "vm2")
        _state(api, made["id"], "running")
        body = _deploy_body(testbed, "vm2", pem=pem, pub=pair.public_pem)
        reply = api.post(f"/v1/instances/{made['id']}/deploy", json=body)
        assert reply.status_code == 200, reply.text
        recorder.wait_for("salt/minion/vm2/start", 30)
        auth = [e.data["act"] for e in recorder.events if e.tag == "salt/auth"]
        assert auth and set(auth) == {"accept"}
        pki = testbed.workdir / "cloud" / made["id"] / "pki"
        assert (pki / "minion.pub").read_text() == pair.public_pem
        assert (pki / "minion.pem").stat().st_mode & 0o777 == 0o600


def test_closing_the_testbed_stops_the_instances_minions(testbed: LocalTestbed) -> None:
    with (
        Recorder(testbed.bus_pub, testbed.bus_pull) as recorder,
        httpx.Client(base_url=testbed.start_cloud(**FAST), timeout=30) as api,
    ):
        made = _create(api, "vm3")
        _state(api, made["id"], "running")
        reply = api.post(f"/v1/instances/{made['id']}/deploy", json=_deploy_body(testbed, "vm3"))
        pid = int(reply.json()["minion"])
        recorder.wait_for("salt/minion/vm3/start", 30)
    testbed.close()
    assert _gone(pid)
    assert "Traceback" not in testbed.logs("cloud-sim")


def test_a_broken_start_names_the_option(tmp_path: Path) -> None:
    bed = LocalTestbed(tmp_path, start_timeout=15)  # never started: cloud-sim alone, failing
    try:
        with pytest.raises(TestbedError, match="provision_delay"):
            bed.start_cloud(provision_delay=-1)
        with pytest.raises(TestbedError, match="start_cloud"):
            _ = bed.cloud_url_host
    finally:
        bed.close()


# -- faults -----------------------------------------------------------------------------
def test_quota_and_create_error_strike_the_next_creates(api: httpx.Client) -> None:
    for kind, status, code in (
        ("quota", 403, "QuotaExceeded"),
        ("create_error", 500, "InternalError"),
    ):
        reply = api.post("/v1/faults", json={"kind": kind, "count": 2})
        assert reply.status_code == 201 and reply.json()["fault"]["remaining"] == 2
        body = {"name": f"f-{kind.replace('_', '-')}", "image": "debian-12", "size": "small"}
        for _ in range(2):
            _refused(api.post("/v1/instances", json=body), status, code)
        assert api.post("/v1/instances", json=body).status_code == 201
        [fault] = api.get("/v1/faults").json()["faults"]
        assert (fault["kind"], fault["remaining"], fault["struck"]) == (kind, 0, 2)
        assert api.delete("/v1/faults").json() == {"faults": [], "cleared": 1}


def test_stuck_pending_never_runs(api: httpx.Client) -> None:
    api.post("/v1/faults", json={"kind": "stuck_pending", "count": 1})
    stuck, normal = _create(api, "stuck"), _create(api, "normal")
    _state(api, normal["id"], "running")  # the same delay has passed for both
    assert _instance(api, stuck["id"])["state"] == "pending"
    api.delete(f"/v1/instances/{stuck['id']}")
    assert _state(api, stuck["id"], "terminated")["state_reason"] == "user initiated"


def test_lost_during_boot_terminates_instead_of_running(api: httpx.Client) -> None:
    api.post("/v1/faults", json={"kind": "lost_during_boot", "count": 1})
    lost = _create(api, "lost")
    assert lost["state"] == "pending"
    done = _state(api, lost["id"], "terminated")
    assert (done["state_reason"], done["private_ip"]) == ("lost during boot", None)
    deploy = {"master": "127.0.0.1", "master_port": 4506, "minion_id": "lost"}
    _refused(api.post(f"/v1/instances/{lost['id']}/deploy", json=deploy), 409, "InvalidState")


def test_a_seeded_rate_and_max_instances(api: httpx.Client) -> None:
    reply = api.post("/v1/faults", json={"kind": "quota", "rate": 1.0, "seed": 3})
    assert reply.json()["fault"]["rate"] == 1.0
    body = {"name": "rated", "image": "debian-12", "size": "small"}
    for _ in range(3):
        _refused(api.post("/v1/instances", json=body), 403, "QuotaExceeded")
    api.delete("/v1/faults")
    made = [_create(api, f"many-{n}") for n in range(6)]  # max_instances: 6
    message = _refused(api.post("/v1/instances", json=body), 403, "QuotaExceeded")
    assert "limit" in message
    api.delete(f"/v1/instances/{made[0]['id']}")
    _state(api, made[0]["id"], "terminated")
    assert _create(api, "rated")["state"] == "pending"


# -- bad input --------------------------------------------------------------------------
BAD: list[tuple[str, str, Any]] = [
    ("POST", "/v1/instances", b"{not json"),
    ("POST", "/v1/instances", b"\xff\xfe"),
    ("POST", "/v1/instances", []),
    ("POST", "/v1/instances", {"name": "a", "image": "d"}),
    ("POST", "/v1/instances", {"name": "bad_name", "image": "d", "size": "s"}),
    ("POST", "/v1/instances", {"name": 7, "image": "d", "size": "s"}),
    ("POST", "/v1/faults", {"kind": "meteor", "count": 1}),
    ("POST", "/v1/faults", {"kind": "quota"}),
    ("POST", "/v1/faults", {"kind": "quota", "count": 1, "rate": 0.5}),
    ("POST", "/v1/faults", {"kind": "quota", "count": "1"}),
    ("POST", "/v1/faults", {"kind": "quota", "rate": 2}),
    ("POST", "/v1/faults", b""),
    ("DEPLOY", "", {"master_port": 4506, "minion_id": "x"}),
    ("DEPLOY", "", {"master": "m", "master_port": 70000, "minion_id": "x"}),
    ("DEPLOY", "", {"master": "m", "master_port": 4506, "minion_id": "x", "pem": "x"}),
    ("DEPLOY", "", {"master": "m", "master_port": 4506, "minion_id": "x", "options": 3}),
    ("DEPLOY", "", {"master": "m", "master_port": 4506, "minion_id": "x", "options": {"id": 1}}),
    ("DEPLOY", "", "just a string"),
]


@pytest.mark.parametrize(("method", "path", "body"), BAD)
def test_bad_bodies_are_400_with_a_json_error(
    api: httpx.Client, method: str, path: str, body: Any
) -> None:
    if method == "DEPLOY":
        made = _create(api, "target")
        _state(api, made["id"], "running")
        method, path = "POST", f"/v1/instances/{made['id']}/deploy"
    content = body if isinstance(body, bytes) else None
    kwargs: dict[str, Any] = {"content": content} if content is not None else {"json": body}
    reply = api.request(method, path, **kwargs)
    message = _refused(reply, 400, "BadRequest")
    assert "Traceback" not in message
    assert api.get("/v1/health").json()["ok"] is True


def test_unknown_ids_paths_and_methods(api: httpx.Client) -> None:
    _refused(api.get("/v1/instances/i-00000000"), 404, "NotFound")
    _refused(api.delete("/v1/instances/i-00000000"), 404, "NotFound")
    deploy = {"master": "m", "master_port": 4506, "minion_id": "x"}
    _refused(api.post("/v1/instances/i-00000000/deploy", json=deploy), 404, "NotFound")
    _refused(api.get("/v2/anything"), 404, "NotFound")
    reply = api.put("/v1/instances", json={})
    _refused(reply, 405, "MethodNotAllowed")
    assert "POST" in reply.headers["Allow"]
    _refused(api.post("/v1/faults", content=b"[" * (2 << 20)), 413, "PayloadTooLarge")
