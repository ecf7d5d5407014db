"""The testbed a scenario asks for, and its fake cloud provider set up before the start."""

from __future__ import annotations

from typing import Any, Protocol

from saltsim.scenario.spec import Scenario
from saltsim.testbed.base import Testbed

__all__ = ["CLOUD_PROVIDER", "CloudHost", "make_testbed", "setup_cloud"]

CLOUD_PROVIDER = "cloud-sim"  # the provider's name in the master config (and in events)


class CloudHost(Protocol):
    """What the cloud set-up needs of a testbed that is not started yet (every
    ``Testbed`` has it)."""

    def start_cloud(self, **options: Any) -> str: ...
    def configure_master(self, **options: Any) -> None: ...


def make_testbed(scenario: Scenario) -> Testbed:
    """The testbed the scenario's (possibly overridden) settings ask for."""
    settings = scenario.settings
    options: dict[str, Any] = {
        "dialect": settings.dialect,
        "master_options": dict(settings.master),
        "minion_options": dict(settings.minion),
    }
    if settings.backend == "salt":
        from saltsim.testbed.salt_backend import SaltTestbed

        return SaltTestbed(**options)
    if settings.backend == "docker":
        from saltsim.testbed.docker_backend import DockerTestbed

        return DockerTestbed(**options)
    from saltsim.testbed.local import LocalTestbed

    return LocalTestbed(**options)


def setup_cloud(bed: CloudHost, scenario: Scenario) -> None:
    """Start the testbed's fake provider (``settings.cloud.options``) and give the master,
    which is not started yet, the provider and ``settings.cloud.profiles``; each profile's
    minion options are ``settings.minion`` updated with its own ``minion``."""
    settings = scenario.settings
    if settings.cloud is None:
        return
    url = bed.start_cloud(**settings.cloud.options)
    profiles = {
        name: {
            **profile,
            "provider": CLOUD_PROVIDER,
            "minion": {**settings.minion, **profile.get("minion", {})},
        }
        for name, profile in settings.cloud.profiles.items()
    }
    bed.configure_master(
        cloud_providers={CLOUD_PROVIDER: {"driver": "saltsim", "url": url}},
        cloud_profiles=profiles,
    )
