"""Typed config: defaults < YAML file < ``SALTSIM_*`` environment < explicit arguments."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from saltsim.config import ENV_PREFIX, BusConfig, load_config
from saltsim.errors import ConfigError, SaltsimError

DEFAULTS = BusConfig()


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bus.yaml"
    path.write_text(text)
    return path


def test_precedence_defaults_file_environment_arguments(tmp_path: Path) -> None:
    # Each layer sets one key more than the next, so every layer wins exactly once.
    path = write(
        tmp_path,
        "pull_address: tcp://127.0.0.1:1001\n"
        "pub_address: tcp://127.0.0.1:1002\n"
        "dialect: '3006'\n"
        "hwm: 10\n",
    )
    env = {
        "SALTSIM_PUB_ADDRESS": "tcp://127.0.0.1:2002",
        "SALTSIM_DIALECT": "3008",
        "SALTSIM_HWM": "20",
    }
    cfg = load_config(BusConfig, path, env=env, hwm=30, dialect=None)
    assert cfg == BusConfig(
        pull_address="tcp://127.0.0.1:1001",  # file over default
        pub_address="tcp://127.0.0.1:2002",  # environment over file
        dialect="3008",  # environment over file; a None argument does not override
        hwm=30,  # argument over environment
    )
    # And with nothing given, the defaults beside the fields.
    assert load_config(BusConfig, env={}) == DEFAULTS
    assert DEFAULTS.dialect == "3008"
    assert DEFAULTS.hwm == 10_000


def test_environment_defaults_to_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_PREFIX + "HWM", "77")
    monkeypatch.setenv(ENV_PREFIX + "DIALECT", "3006")
    assert load_config(BusConfig) == dataclasses.replace(DEFAULTS, hwm=77, dialect="3006")
    # An explicit env mapping replaces os.environ entirely.
    assert load_config(BusConfig, env={}) == DEFAULTS


def test_unrelated_environment_variables_are_ignored() -> None:
    env = {"SALTSIM_NOT_AN_OPTION": "x", "HWM": "5", "saltsim_hwm": "6"}
    assert load_config(BusConfig, env=env) == DEFAULTS


def test_string_option_from_environment_is_not_yaml_parsed() -> None:
    cfg = load_config(BusConfig, env={"SALTSIM_PULL_ADDRESS": "[not, a, list]"})
    assert cfg.pull_address == "[not, a, list]"


def test_empty_file_gives_defaults(tmp_path: Path) -> None:
    assert load_config(BusConfig, write(tmp_path, ""), env={}) == DEFAULTS
    assert load_config(BusConfig, str(write(tmp_path, "# nothing\n")), env={}) == DEFAULTS


def test_dialect_3006_unquoted_in_yaml_becomes_a_string(tmp_path: Path) -> None:
    cfg = load_config(BusConfig, write(tmp_path, "dialect: 3006\n"), env={})
    assert cfg.dialect == "3006"
    assert isinstance(cfg.dialect, str)


def test_broken_yaml_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, "hwm: 5\ndialect: 3006\npull_address: a\n  pub_address: b\n")
    with pytest.raises(ConfigError, match=rf"^{re.escape(str(path))}:4:\d+: broken YAML"):
        load_config(BusConfig, path, env={})


def test_yaml_that_is_not_a_mapping_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="expected a mapping"):
        load_config(BusConfig, write(tmp_path, "- hwm\n- 5\n"), env={})


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    missing = tmp_path / "absent.yaml"
    with pytest.raises(ConfigError, match=re.escape(str(missing))):
        load_config(BusConfig, missing, env={})


@pytest.mark.parametrize("source", ["file", "arguments"])
def test_unknown_key_lists_the_known_ones(tmp_path: Path, source: str) -> None:
    # (Environment variables are looked up per field, so a typo there is simply unset:
    # see test_unrelated_environment_variables_are_ignored.)
    with pytest.raises(ConfigError) as info:
        if source == "file":
            load_config(BusConfig, write(tmp_path, "hwm: 5\nhmw: 6\n"), env={})
        else:
            load_config(BusConfig, env={}, hmw=6)
    message = str(info.value)
    assert "unknown option 'hmw'" in message
    for name in ("pull_address", "pub_address", "dialect", "hwm"):
        assert name in message


@pytest.mark.parametrize(
    "text", ["hwm: abc\n", "hwm: true\n", "hwm: 1.5\n", "hwm: [1]\n", "dialect: [3006]\n"]
)
def test_wrong_type_in_file_is_a_config_error(tmp_path: Path, text: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError, match=rf"^{re.escape(str(path))}: (hwm|dialect) must be"):
        load_config(BusConfig, path, env={})


@pytest.mark.parametrize("raw", ["abc", "true", "1.5", "[1", "{a: 1}"])
def test_wrong_type_in_environment_is_a_config_error(raw: str) -> None:
    with pytest.raises(ConfigError, match=r"SALTSIM_HWM|environment"):
        load_config(BusConfig, env={"SALTSIM_HWM": raw})


def test_wrong_type_in_arguments_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="arguments: hwm must be int"):
        load_config(BusConfig, env={}, hwm="10")


@pytest.mark.parametrize("dialect", ["3007", "2019.2", "3008.0", ""])
def test_invalid_dialect_is_a_config_error(tmp_path: Path, dialect: str) -> None:
    with pytest.raises(ConfigError, match="dialect must be one of 3008, 3006"):
        load_config(BusConfig, write(tmp_path, f"dialect: '{dialect}'\n"), env={})
    with pytest.raises(ConfigError):
        load_config(BusConfig, env={"SALTSIM_DIALECT": dialect})
    with pytest.raises(ConfigError):
        BusConfig(dialect=dialect)


@pytest.mark.parametrize("hwm", [0, -1])
def test_hwm_below_one_is_a_config_error(hwm: int) -> None:
    with pytest.raises(ConfigError, match="hwm must be at least 1"):
        load_config(BusConfig, env={}, hwm=hwm)


def test_config_error_is_a_value_error() -> None:
    assert issubclass(ConfigError, ValueError)
    assert issubclass(ConfigError, SaltsimError)


def test_config_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        DEFAULTS.hwm = 1  # type: ignore[misc]


def test_non_dataclass_is_refused() -> None:
    with pytest.raises(TypeError):
        load_config(dict, env={})
