"""The salt backend's pure parts: config mapping, CLI argument building, load-time refusals."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from saltsim.scenario import ScenarioError, load_scenario_text
from saltsim.testbed.salt_client import SaltCli, cli_arg
from saltsim.testbed.salt_config import master_config, minion_config

SCENARIO = """\
settings: {minions: [m1], backend: %s}
steps:
  - start: all
  - cloud: {profile: small, names: [vm1]}
"""


def test_master_options_map_to_salt_and_saltsim_only_ones_are_named() -> None:
    text, ignored = master_config(
        {"presence_events": True, "loop_interval": 1, "heartbeat_timeout": 3, "bus_hold": 2}
    )
    config = yaml.safe_load(text)
    assert config["presence_events"] is True and config["loop_interval"] == 1
    assert config["interface"] == "0.0.0.0"
    assert sorted(ignored) == ["bus_hold", "heartbeat_timeout"]
    assert "heartbeat_timeout" not in config


def test_minion_config_names_the_master_and_refuses_fixed_options() -> None:
    text, ignored = minion_config(
        "m1", "saltsimx-master", {"acceptance_wait_time": 0.5, "heartbeat_interval": 0.5}
    )
    assert yaml.safe_load(text) == {
        "id": "m1",
        "master": "saltsimx-master",
        "user": "root",
        "acceptance_wait_time": 0.5,
    }
    assert ignored == ["heartbeat_interval"]
    with pytest.raises(ValueError, match="sets minion option 'id'"):
        minion_config("m1", "m", {"id": "other"})


def test_a_cloud_step_on_the_salt_backend_is_a_load_time_error_with_file_and_line() -> None:
    with pytest.raises(ScenarioError, match=r"x.yaml:4: the salt backend cannot run 'cloud'"):
        load_scenario_text(SCENARIO % "salt", "x.yaml")


class _Container:
    """Records the argv a SaltCli runs; answers with canned JSON."""

    def __init__(self, reply: bytes = b"{}", code: int = 0) -> None:
        self.argv: list[list[str]] = []
        self.reply, self.code = reply, code

    def exec_run(self, argv: list[str], demux: bool = False) -> tuple[int, Any]:
        self.argv.append(argv)
        return self.code, (self.reply, b"")


def test_cmd_builds_salts_command_line_per_target_type_and_kwargs() -> None:
    box = _Container(b'{\n  "web1": true\n}\n{\n  "web2": false\n}\n')
    returns, _ = SaltCli(box).cmd(["web2", "db1"], "test.arg", [1, "two"], {"k": "v"}, "list", 5)
    assert returns == {"web1": True, "web2": False}
    assert box.argv[0] == [
        "salt",
        "--out",
        "json",
        "-t",
        "5",
        "-L",
        "web2,db1",
        "test.arg",
        "1",
        "two",
        "k=v",
    ]
    assert cli_arg({"a": [1]}) == '{"a": [1]}'


def test_key_listing_maps_salt_key_groups_and_a_failure_names_the_command() -> None:
    box = _Container(b'{"minions": ["m1"], "minions_pre": ["m2"], "minions_rejected": []}')
    assert SaltCli(box).key("list") == {
        "accepted": ["m1"],
        "pending": ["m2"],
        "rejected": [],
        "denied": [],
    }
    SaltCli(box).key("accept", "*")
    assert box.argv[-1] == ["salt-key", "--out", "json", "-y", "-A"]
    broken = _Container(b"no such key", code=1)
    with pytest.raises(Exception, match="salt-key --out json -y -d m9"):
        SaltCli(broken).key("delete", "m9")
