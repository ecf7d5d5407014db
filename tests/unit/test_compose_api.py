"""The compose stack's master serves salt-api clients out of the box: the API user
``salt`` / ``salt`` (changeable from the environment) and ``?token=`` allowed, which is
fine only because the API is published on the host's loopback alone.

Reads docker-compose.yml, interpolates ``${VAR:-default}`` as Compose does, and loads
the master's config from the result with the master's own loader.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml
from saltsim_master.config import MasterConfig

from saltsim.config import load_config

COMPOSE = Path(__file__).parents[2] / "docker-compose.yml"
_VARIABLE = re.compile(r"\$\{(?P<name>\w+)(?::-(?P<default>[^}]*))?\}")


def _interpolate(value: str, host: Mapping[str, str]) -> str:
    """Compose's ``${NAME}`` and ``${NAME:-default}`` (unset or empty: the default)."""
    return _VARIABLE.sub(lambda m: host.get(m["name"]) or m["default"] or "", value)


def _master(host: Mapping[str, str]) -> tuple[MasterConfig, dict[str, Any]]:
    service = yaml.safe_load(COMPOSE.read_text())["services"]["master"]
    environment = {k: _interpolate(str(v), host) for k, v in service["environment"].items()}
    return load_config(MasterConfig, env=environment), service


def test_the_master_has_the_api_user_salt_and_allows_query_tokens() -> None:
    config, _ = _master({})
    assert config.api_users == {"salt": "salt"}
    assert config.api_allow_query_token is True
    assert config.api_enabled and config.api_ssl  # HTTPS, its self-signed certificate


def test_the_api_user_is_set_from_the_hosts_environment() -> None:
    host = {"SALTSIM_API_USER": "ann", "SALTSIM_API_PASSWORD": "p@ss: w0rd #1"}
    host |= {"SALTSIM_API_ALLOW_QUERY_TOKEN": "false"}
    config, _ = _master(host)
    assert config.api_users == {"ann": "p@ss: w0rd #1"}
    assert config.api_allow_query_token is False


def test_the_api_is_published_on_loopback_only() -> None:
    _, service = _master({})
    (api,) = [p for p in service["ports"] if str(p).endswith(":8000")]
    assert str(api).startswith("127.0.0.1:")


@pytest.mark.parametrize("option", ["api_users", "api_allow_query_token"])
def test_the_defaults_elsewhere_stay_closed(option: str) -> None:
    """Outside the compose file nobody can log in and ?token= is refused."""
    assert not getattr(MasterConfig(), option)
