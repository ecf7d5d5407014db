"""Private state: 0700 directories of this user, 0600 secrets, nothing planted adopted.

Each "planted" case reproduces issue 12 item 5: the old code trusted what it found.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import zmq

from saltsim.crypto import KeyPair
from saltsim.curve import CurveServer, load_or_create_keypair, parse_key
from saltsim.errors import ConfigError
from saltsim.private import (
    default_base,
    private_dir,
    read_or_create_secret,
    read_secret,
    write_secret,
)

as_root = pytest.mark.skipif(os.geteuid() != 0, reason="chown to another user needs root")
NOBODY = 65534


def mode(path: Path) -> int:
    return path.lstat().st_mode & 0o7777


# -- directories ---------------------------------------------------------------------------


def test_default_base_is_per_user() -> None:
    assert default_base({"XDG_RUNTIME_DIR": "/run/user/7"}) == Path("/run/user/7/saltsim")
    assert default_base({}) == Path(f"/tmp/saltsim-{os.geteuid()}")
    assert default_base({"XDG_RUNTIME_DIR": "relative"}) == Path(f"/tmp/saltsim-{os.geteuid()}")


def test_private_dir_makes_every_missing_part_0700(tmp_path: Path) -> None:
    made = private_dir(tmp_path / "a" / "b" / "pki")
    assert made == tmp_path / "a" / "b" / "pki"
    for part in (tmp_path / "a", tmp_path / "a" / "b", made):
        assert mode(part) == 0o700


def test_private_dir_tightens_a_readable_dir_of_ours(tmp_path: Path) -> None:
    old = tmp_path / "cache"
    old.mkdir(mode=0o755)
    os.chmod(old, 0o755)  # as older versions made it
    private_dir(old)
    assert mode(old) == 0o700


@pytest.mark.parametrize("loose", [0o777, 0o770, 0o757])
def test_private_dir_refuses_a_dir_others_may_write(tmp_path: Path, loose: int) -> None:
    planted = tmp_path / "pki"
    planted.mkdir()
    os.chmod(planted, loose)
    with pytest.raises(ConfigError, match=rf"{planted} has mode 0{loose:o}"):
        private_dir(planted)


def test_private_dir_refuses_a_symlink(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir(mode=0o700)
    (tmp_path / "pki").symlink_to(tmp_path / "real")
    with pytest.raises(ConfigError, match="must be a directory, not a symlink"):
        private_dir(tmp_path / "pki")


@as_root
def test_private_dir_refuses_a_dir_of_another_user(tmp_path: Path) -> None:
    planted = tmp_path / "pki"
    planted.mkdir(mode=0o700)
    os.chown(planted, NOBODY, NOBODY)
    with pytest.raises(ConfigError, match=f"{planted} is owned by uid {NOBODY}"):
        private_dir(planted)


@as_root
def test_private_dir_refuses_to_build_below_another_users_dir(tmp_path: Path) -> None:
    """/tmp/saltsim made by someone else: whatever we make below it, they can swap."""
    theirs = tmp_path / "saltsim"
    theirs.mkdir(mode=0o755)
    os.chown(theirs, NOBODY, NOBODY)
    with pytest.raises(ConfigError, match=f"{theirs} \\(above .*\\) is owned by uid {NOBODY}"):
        private_dir(theirs / "master" / "pki")
    assert not (theirs / "master").exists()


def test_sticky_world_writable_ancestor_is_fine(tmp_path: Path) -> None:
    shared = tmp_path / "tmp"
    shared.mkdir()
    os.chmod(shared, 0o1777)  # like /tmp
    assert mode(private_dir(shared / "saltsim-me")) == 0o700


# -- secrets -------------------------------------------------------------------------------


def test_secret_is_written_0600_and_read_back(tmp_path: Path) -> None:
    path = tmp_path / "client_token"
    assert read_secret(path) is None
    assert read_or_create_secret(path, lambda: b"s3cret") == b"s3cret"
    assert mode(path) == 0o600
    assert read_or_create_secret(path, lambda: b"other") == b"s3cret"
    assert [p.name for p in tmp_path.iterdir()] == ["client_token"]  # no temp file left


def test_planted_world_writable_token_is_refused(tmp_path: Path) -> None:
    planted = tmp_path / "client_token"
    planted.write_text("attacker-knows-this")
    os.chmod(planted, 0o666)
    with pytest.raises(ConfigError, match=f"{planted} has mode 0666"):
        read_secret(planted)


@as_root
def test_planted_token_of_another_user_is_refused(tmp_path: Path) -> None:
    planted = tmp_path / "client_token"
    planted.write_text("attacker-knows-this")
    os.chmod(planted, 0o600)
    os.chown(planted, NOBODY, NOBODY)
    with pytest.raises(ConfigError, match=f"owned by uid {NOBODY}"):
        read_secret(planted)


def test_symlinked_secret_is_refused_and_overwriting_replaces_the_link(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    target.write_bytes(b"keep me")
    os.chmod(target, 0o600)
    link = tmp_path / "minion.pem"
    link.symlink_to(target)
    with pytest.raises(ConfigError, match="is a symlink"):
        read_secret(link)
    write_secret(link, b"new")
    assert not link.is_symlink() and link.read_bytes() == b"new"
    assert target.read_bytes() == b"keep me"  # the link's target was never written


def test_a_fifo_is_not_a_secret(tmp_path: Path) -> None:
    fifo = tmp_path / "api.key"
    os.mkfifo(fifo, 0o600)
    with pytest.raises(ConfigError, match="not a regular file"):
        read_secret(fifo)


# -- the secrets of issue 12, through their owners' code ------------------------------------


def test_master_refuses_a_planted_client_token(tmp_path: Path) -> None:
    from saltsim_master.core import load_token

    pki = private_dir(tmp_path / "pki")
    (pki / "client_token").write_text("planted")
    os.chmod(pki / "client_token", 0o666)
    with pytest.raises(ConfigError, match="client_token has mode 0666"):
        load_token(pki)
    os.unlink(pki / "client_token")
    token = load_token(pki)
    assert len(token) > 30 and mode(pki / "client_token") == 0o600


def test_master_refuses_a_world_writable_pki_dir(tmp_path: Path) -> None:
    from saltsim_master.config import MasterConfig
    from saltsim_master.core import MasterCore

    pki = tmp_path / "pki"
    (pki / "minions").mkdir(parents=True)
    os.chmod(pki, 0o777)
    (pki / "minions" / "evil").write_text("pre-accepted key")
    config = MasterConfig(pki_dir=str(pki), cachedir=str(tmp_path / "cache"), api_enabled=False)
    with pytest.raises(ConfigError, match=f"{pki} has mode 0777"):
        MasterCore(config)


def test_master_defaults_are_per_user(monkeypatch: pytest.MonkeyPatch) -> None:
    from saltsim_master.config import MasterConfig

    monkeypatch.setenv("XDG_RUNTIME_DIR", "/run/user/4242")
    cfg = MasterConfig()
    assert (cfg.pki_dir, cfg.cachedir, cfg.sock_dir) == (
        "/run/user/4242/saltsim/master/pki",
        "/run/user/4242/saltsim/master/cache",
        "/run/user/4242/saltsim/master/sock",
    )
    assert MasterConfig(pki_dir="/srv/m/pki").sock_dir == "/srv/m/sock"


def test_minion_refuses_a_symlinked_key(tmp_path: Path) -> None:
    pki = private_dir(tmp_path / "pki")
    theirs = KeyPair.generate()
    (tmp_path / "theirs.pem").write_bytes(b"not even read")
    (pki / "minion.pem").symlink_to(tmp_path / "theirs.pem")
    with pytest.raises(ConfigError, match=r"minion\.pem is a symlink"):
        KeyPair.load_or_create(pki)
    assert theirs.public_pem  # made, never adopted


def test_minion_key_is_made_private(tmp_path: Path) -> None:
    pki = tmp_path / "m" / "pki"
    pair = KeyPair.load_or_create(pki)
    assert (mode(pki), mode(pki / "minion.pem")) == (0o700, 0o600)
    assert KeyPair.load_or_create(pki).public_pem == pair.public_pem


def test_api_key_found_readable_by_others_is_refused(tmp_path: Path) -> None:
    from saltsim_master.api.tls import ensure_certificate

    _, key = ensure_certificate(tmp_path, "127.0.0.1")
    assert mode(key) == 0o600
    os.chmod(key, 0o644)
    with pytest.raises(ConfigError, match=r"api\.key has mode 0644"):
        ensure_certificate(tmp_path, "127.0.0.1")


# -- CURVE keys ----------------------------------------------------------------------------


def test_curve_key_pair_is_kept_0600_and_public_key_derived(tmp_path: Path) -> None:
    public, secret = load_or_create_keypair(tmp_path / "bus.key", tmp_path / "bus.pub")
    assert mode(tmp_path / "bus.key") == 0o600
    assert (tmp_path / "bus.pub").read_bytes().strip() == public
    assert load_or_create_keypair(tmp_path / "bus.key") == (public, secret)
    assert zmq.curve_public(secret) == public


@pytest.mark.parametrize("text", ["", "short", "~" * 40, "é" * 40, "a" * 41])
def test_curve_key_text_must_be_z85(text: str) -> None:
    with pytest.raises(ConfigError, match="40-character Z85 CURVE key"):
        parse_key(text, "bus_curve_clients")


def test_curve_server_lets_in_only_listed_keys() -> None:
    public, secret = zmq.curve_keypair()
    friend, _ = zmq.curve_keypair()
    stranger, _ = zmq.curve_keypair()
    server = CurveServer.of(public, secret, [friend.decode()])
    assert server.allows("global", friend) and not server.allows("global", stranger)
