"""The master's cloud settings: typed providers and profiles, and errors naming the option."""

from __future__ import annotations

from typing import Any

import pytest
from saltsim_master.cloudconfig import CloudProfile, CloudProvider, parse_profiles
from saltsim_master.config import MasterConfig

from saltsim.config import load_config
from saltsim.errors import ConfigError

SIM = {"driver": "saltsim", "url": "http://cloud-sim:8080/"}
SMALL = {"provider": "sim", "image": "debian-12", "size": "small"}


def test_providers_and_profiles_come_from_yaml_and_environment() -> None:
    env = {
        "SALTSIM_CLOUD_PROVIDERS": '{"sim": {"driver": "saltsim", "url": "http://cloud-sim:8080"}}',
        "SALTSIM_CLOUD_PROFILES": "{small: {provider: sim, image: debian-12, size: small}}",
        "SALTSIM_CLOUD_TIMEOUT": "5",
    }
    config = load_config(MasterConfig, env=env)
    assert config.cloud_providers == {"sim": {"driver": "saltsim", "url": "http://cloud-sim:8080"}}
    assert config.cloud_timeout == 5.0
    profiles = parse_profiles(config.cloud_profiles, {"sim": CloudProvider("sim", "http://x")})
    assert profiles == {"small": CloudProfile("small", "sim", "debian-12", "small")}
    assert (profiles["small"].preaccept, profiles["small"].delete_key) == (True, True)
    defaults = MasterConfig()
    assert (defaults.cloud_providers, defaults.cloud_profiles) == ({}, {})


def test_a_provider_url_loses_its_trailing_slash_and_keeps_the_minion_master() -> None:
    from saltsim_master.cloudconfig import parse_providers

    providers = parse_providers(
        {"sim": {**SIM, "minion_master": "master", "minion_master_port": 4506}}
    )
    assert providers == {
        "sim": CloudProvider("sim", "http://cloud-sim:8080", "saltsim", "master", 4506)
    }


@pytest.mark.parametrize(
    ("providers", "profiles", "message"),
    [
        ([], {}, "cloud_providers must be a mapping, not list"),
        (
            {"sim": {**SIM, "driver": "ec2"}},
            {},
            "cloud_providers.sim.driver must be one of saltsim",
        ),
        ({"sim": {"driver": "saltsim"}}, {}, "cloud_providers.sim.url must be a non-empty string"),
        (
            {"sim": {**SIM, "url": "cloud-sim:8080"}},
            {},
            "cloud_providers.sim.url must be an http:// or https:// URL",
        ),
        (
            {"sim": {**SIM, "region": "eu"}},
            {},
            "cloud_providers.sim: unknown key 'region'; known: driver, url, minion_master, "
            "minion_master_port",
        ),
        (
            {"sim": {**SIM, "minion_master_port": "4506"}},
            {},
            "cloud_providers.sim.minion_master_port must be a port number, not '4506'",
        ),
        (
            {"sim": SIM},
            {"small": {**SMALL, "provider": "aws"}},
            "cloud_profiles.small.provider 'aws' is not in cloud_providers (known: sim)",
        ),
        ({"sim": SIM}, {"small": {**SMALL, "size": ""}}, "cloud_profiles.small.size must be"),
        (
            {"sim": SIM},
            {"small": {**SMALL, "preaccept": "yes"}},
            "cloud_profiles.small.preaccept must be true or false, not 'yes'",
        ),
        (
            {"sim": SIM},
            {"small": {**SMALL, "minion": [1]}},
            "cloud_profiles.small.minion must be a mapping, not list",
        ),
        (
            {"sim": SIM},
            {"small": {**SMALL, "script": "bootstrap"}},
            "cloud_profiles.small: unknown key 'script'",
        ),
    ],
)
def test_bad_cloud_settings_name_the_option(providers: Any, profiles: Any, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        MasterConfig(cloud_providers=providers, cloud_profiles=profiles)
    assert str(info.value).startswith(message)


def test_cloud_timeout_must_be_positive() -> None:
    with pytest.raises(ConfigError, match="cloud_timeout and cloud_poll_interval must be"):
        MasterConfig(cloud_timeout=0)
