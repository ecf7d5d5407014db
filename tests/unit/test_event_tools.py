"""The event tools' pure parts: state.event arguments and matching, payloads, addresses."""

from __future__ import annotations

import argparse
import json
import socket
from pathlib import Path

import pytest
import zmq

from saltsim.cli.event_send import parse_payload
from saltsim.cli.state_event import WatchOptions, expr_matcher, format_event, watch_options
from saltsim.cli.target import bus_target
from saltsim.config import bus_ipc_addresses, default_sock_dir
from saltsim.errors import UsageError
from saltsim.event import Event
from saltsim.minionipc import (
    MinionIPCError,
    auto_socket,
    default_pki_dir,
    find_socket,
    is_listening,
    socket_path,
)

# -- state.event -----------------------------------------------------------------------------


def test_watch_options_keywords_positionals_and_defaults() -> None:
    assert watch_options([]) == WatchOptions("*", -1, False, False)
    assert watch_options(["salt/job/*", "3", "True"]) == WatchOptions("salt/job/*", 3, True, False)
    assert watch_options(["pretty=true", "count=2", "node=master", "tagmatch=a|b"]) == (
        WatchOptions("a|b", 2, False, True)
    )


@pytest.mark.parametrize(
    ("words", "message"),
    [
        (["count=abc"], "count must be an integer, not 'abc'"),
        (["count=1.5"], "count must be an integer"),
        (["count=true"], "count must be an integer"),
        (["count=0"], "count must be positive"),
        (["quiet=yes please"], "quiet must be True or False"),
        (["bogus=1"], "unknown argument 'bogus'"),
        (["count=1", "count=2"], "count given twice"),
        (["a", "1", "True", "/s", "True", "master", "extra"], "too many arguments"),
        (["sock_dir=/var/run/salt"], "sock_dir does not apply"),
        (["node=minion"], "only node=master"),
    ],
)
def test_watch_options_refuse_with_the_reason(words: list[str], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        watch_options(words)


@pytest.mark.parametrize(
    ("tagmatch", "tag", "matches"),
    [
        ("*", "salt/auth", True),
        ("salt/job/*/ret/*", "salt/job/1/ret/web1", True),
        ("salt/job/*", "salt/run/1/new", False),
        ("salt/key", "salt/key", True),
        (r"salt/job/\d+/new", "salt/job/20261124/new", True),
        (r"salt/job/\d+/new", "salt/job/20261124/new/more", False),  # a full match
        ("salt/(auth|key)", "salt/key", True),
        ("a|b", "b", True),  # the whole alternation, anchored at both ends
        ("[unclosed", "[unclosed", True),  # equal; neither a glob nor a regex fails loudly
        ("[unclosed", "x", False),
    ],
)
def test_expr_matcher_is_salts_expr_match(tagmatch: str, tag: str, matches: bool) -> None:
    assert expr_matcher(tagmatch)(tag) is matches


def test_format_event_one_line_or_pretty() -> None:
    event = Event.from_data("t/x", {"b": 1, "a": b"raw", "_stamp": "S", "_seq": 3})
    assert format_event(event, False) == 't/x\t{"b": 1, "a": "raw", "_stamp": "S", "_seq": 3}'
    pretty = format_event(event, True)
    tag, _, body = pretty.partition("\t")
    assert tag == "t/x"
    assert body == json.dumps({"_seq": 3, "_stamp": "S", "a": "raw", "b": 1}, indent=4)


# -- event send ------------------------------------------------------------------------------


def test_payload_from_json_and_salt_typed_pairs() -> None:
    assert parse_payload([]) == {}
    assert parse_payload(['{"a": {"b": [1]}}']) == {"a": {"b": [1]}}
    assert parse_payload(["n=1", "f=1.5", "b=true", "s=web1", "none=null", "l=[1, 2]"]) == {
        "n": 1,
        "f": 1.5,
        "b": True,
        "s": "web1",
        "none": None,
        "l": [1, 2],
    }
    assert parse_payload(['{"a": 1, "b": 1}', "b=2"]) == {"a": 1, "b": 2}


@pytest.mark.parametrize(
    ("words", "message"),
    [
        (["{bad"], "is not valid JSON"),
        (["[1]"], "must be a JSON object"),
        (["plain"], "is not valid JSON"),
        (["a=1", "{}"], "expected key=value"),
    ],
)
def test_payload_refuses_with_the_reason(words: list[str], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse_payload(words)


# -- where the bus is --------------------------------------------------------------------------


def target_args(**given: object) -> argparse.Namespace:
    values: dict[str, object] = {
        "config": None,
        "master": None,
        "bus_pub_port": None,
        "bus_pull_port": None,
    }
    return argparse.Namespace(**(values | given))


def test_bus_target_precedence_defaults_env_file_arguments(tmp_path: Path) -> None:
    # no master named: this machine's master, over ipc:// in its (private) sock_dir
    local = bus_target(target_args(), env={})
    assert (local.master, local.curve) == ("", None)
    assert (local.pull, local.pub) == bus_ipc_addresses(default_sock_dir({}))
    # in the master container: its pki_dir's sibling sock dir, still ipc
    inside = bus_target(target_args(), env={"SALTSIM_PKI_DIR": "/var/lib/saltsim/master/pki"})
    assert inside.pub == "ipc:///var/lib/saltsim/master/sock/master_event_pub.ipc"
    # in a minion container: the minion's own master setting, TCP (and no keys: refused)
    env = {"SALTSIM_MASTER": "master", "SALTSIM_BUS_PULL_PORT": "5513"}
    minion = bus_target(target_args(), env=env)
    assert (minion.pull, minion.pub, minion.curve) == (
        "tcp://master:5513",
        "tcp://master:4512",
        None,
    )
    named = bus_target(target_args(master="10.0.0.9", bus_pull_port=6513), env=env)
    assert named.pull == "tcp://10.0.0.9:6513"
    config = tmp_path / "master.yaml"
    config.write_text(f"interface: 127.0.0.2\nbus_pub_port: 7512\nsock_dir: {tmp_path}/s\n")
    from_file = bus_target(target_args(config=str(config)), env={"SALTSIM_BUS_PULL_PORT": "7513"})
    assert from_file.pull == f"ipc://{tmp_path}/s/master_event_pull.ipc"
    by_port = bus_target(target_args(config=str(config), bus_pub_port=1), env={})
    assert (by_port.pub, by_port.pull) == ("tcp://127.0.0.2:1", "tcp://127.0.0.2:4513")
    # with the master's bus key: CURVE, with this client's key pair made once, 0600
    public, _ = zmq.curve_keypair()
    keyed_env = {"SALTSIM_BUS_SERVER_KEY": public.decode()}
    keyed_env["SALTSIM_BUS_CLIENT_KEY"] = str(tmp_path / "client.key")
    keyed = bus_target(target_args(master="127.0.0.1"), env=keyed_env)
    assert keyed.curve is not None and keyed.curve.server_key == public
    assert (tmp_path / "client.key").stat().st_mode & 0o777 == 0o600


# -- the minion's local socket -----------------------------------------------------------------


def test_socket_path_and_where_forms(tmp_path: Path) -> None:
    pki = tmp_path / "m1" / "pki"
    pki.mkdir(parents=True)
    assert socket_path(pki) == tmp_path / "m1" / "minion.ipc"
    assert find_socket(str(pki)) == tmp_path / "m1" / "minion.ipc"
    (tmp_path / "m1" / "minion.ipc").touch()
    assert find_socket(str(tmp_path / "m1")) == tmp_path / "m1" / "minion.ipc"
    assert find_socket(str(tmp_path / "m1" / "minion.ipc")) == tmp_path / "m1" / "minion.ipc"
    assert find_socket("web1") == socket_path(default_pki_dir("web1"))
    with pytest.raises(MinionIPCError, match="no such minion folder"):
        find_socket(str(tmp_path / "nowhere" / "pki"))


def test_auto_socket_only_finds_a_listening_minion(tmp_path: Path) -> None:
    pki = tmp_path / "pki"
    path = socket_path(pki)
    env = {"SALTSIM_PKI_DIR": str(pki)}
    assert auto_socket(env) is None
    path.touch()  # a plain file: not a socket
    assert auto_socket(env) is None and not is_listening(path)
    path.unlink()
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(path))  # a socket file nobody listens on (a killed minion's)
    try:
        assert auto_socket(env) is None
        stale.listen()
        assert auto_socket(env) == path
    finally:
        stale.close()
