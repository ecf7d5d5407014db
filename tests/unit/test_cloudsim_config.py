"""cloud-sim's config (defaults < YAML < SALTSIM_CLOUD_* < arguments) and body checks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from saltsim_cloudsim.backend import option_env
from saltsim_cloudsim.bodies import decode, parse_create, parse_deploy, parse_fault
from saltsim_cloudsim.config import CloudSimConfig, load_cloudsim_config
from saltsim_cloudsim.docker_backend import key_archive
from saltsim_cloudsim.errors import BadRequest

from saltsim.crypto import KeyPair
from saltsim.errors import ConfigError


def test_precedence(tmp_path: Path) -> None:
    path = tmp_path / "cloud.yaml"
    path.write_text("provision_delay: 3\nboot_delay: 4\nmax_instances: 5\n")
    env = {
        "SALTSIM_CLOUD_BOOT_DELAY": "0.5",
        "SALTSIM_CLOUD_MAX_INSTANCES": "6",
        "SALTSIM_MAX_INSTANCES": "99",  # not a cloud-sim variable
        "SALTSIM_MASTER": "master",  # a minion's, ignored
    }
    config = load_cloudsim_config(path, env=env, max_instances=7, port=None)
    assert (config.provision_delay, config.boot_delay, config.max_instances) == (3.0, 0.5, 7)
    assert config.port == CloudSimConfig().port


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"SALTSIM_CLOUD_BACKEND": "vmware"}, "backend must be one of"),
        ({"SALTSIM_CLOUD_SHUTDOWN_DELAY": "-1"}, "must not be negative"),
        ({"SALTSIM_CLOUD_IP_POOL": "10.0.0.0/31"}, "too small"),
        ({"SALTSIM_CLOUD_IP_POOL": "not-a-net"}, "ip_pool"),
        ({"SALTSIM_CLOUD_COLOUR": "blue"}, None),  # unknown variables are not options
    ],
)
def test_bad_settings_name_themselves(env: dict[str, str], message: str | None) -> None:
    if message is None:
        load_cloudsim_config(env=env)
        return
    with pytest.raises(ConfigError, match=message):
        load_cloudsim_config(env=env)


def test_bodies() -> None:
    assert parse_create(decode(b'{"name": "vm-1.a", "image": "d", "size": "s", "x": 1}')).name
    for raw in (b"[]", b"nope", b'"x"', b"\xff"):
        with pytest.raises(BadRequest):
            decode(raw)
    for body in (
        {"name": "vm_1", "image": "d", "size": "s"},
        {"name": "-vm", "image": "d", "size": "s"},
        {"name": "vm", "image": "", "size": "s"},
        {"name": "vm", "image": "d"},
        {"name": 3, "image": "d", "size": "s"},
    ):
        with pytest.raises(BadRequest):
            parse_create(body)
    assert parse_fault({"kind": "quota", "count": 2}).count == 2
    assert parse_fault({"kind": "quota", "rate": 1, "seed": 4}).rate == 1.0
    for body in (
        {"kind": "quota"},
        {"kind": "quota", "count": 0},
        {"kind": "quota", "count": True},
        {"kind": "quota", "rate": "0.5"},
        {"kind": "quota", "rate": 2},
        {"kind": "quota", "rate": 0.5, "seed": 1.5},
        {"kind": "other", "count": 1},
    ):
        with pytest.raises(BadRequest):
            parse_fault(body)


def _deploy(**changes: Any) -> dict[str, Any]:
    return {"master": "master", "master_port": 4506, "minion_id": "vm1", **changes}


def test_deploy_bodies_and_key_pairs() -> None:
    pair, other = KeyPair.generate(), KeyPair.generate()
    pem = pair.private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()
    body = parse_deploy(_deploy(pem=pem, pub=pair.public_pem, options={"heartbeat_interval": 1}))
    assert (body.pem, body.options) == (pem, {"heartbeat_interval": 1})
    assert parse_deploy(_deploy(options=None)).options == {}
    for bad in (
        _deploy(pem=pem, pub=other.public_pem),  # not its public half
        _deploy(pem=pem),
        _deploy(pem="x", pub="y"),
        _deploy(master_port=0),
        _deploy(master_port="4506"),
        _deploy(minion_id="a/b"),
        _deploy(options=[1]),
        _deploy(options={"master": "elsewhere"}),
        _deploy(options={"Bad-Name": 1}),
        {"master_port": 4506, "minion_id": "vm1"},
    ):
        with pytest.raises(BadRequest):
            parse_deploy(bad)


def test_option_env_and_key_archive() -> None:
    assert option_env({"dialect": "3006", "heartbeat_interval": 0.5, "grains": {"a": 1}}) == {
        "SALTSIM_DIALECT": "3006",
        "SALTSIM_HEARTBEAT_INTERVAL": "0.5",
        "SALTSIM_GRAINS": '{"a": 1}',
    }
    import io
    import tarfile

    with tarfile.open(fileobj=io.BytesIO(key_archive("PEM", "PUB"))) as tar:
        members = {m.name: m for m in tar.getmembers()}
        pem = members["var/lib/saltsim/minion/pki/minion.pem"]
        assert pem.mode == 0o600 and members["var/lib/saltsim/minion/pki"].isdir()
        assert tar.extractfile(pem).read() == b"PEM"  # type: ignore[union-attr]
