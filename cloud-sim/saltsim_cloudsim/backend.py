"""What a backend does for an instance: start its minion on deploy, remove it on destroy.

Two implementations: ``LocalBackend`` (a minion process) and ``DockerBackend`` (a minion
container on the testbed network). Both turn the deploy's minion options into the
``SALTSIM_<OPTION>`` environment the minion's config loader reads, as the testbed's
docker backend does.
"""

from __future__ import annotations

import json
from typing import Any, Protocol

from saltsim_cloudsim.bodies import DeployBody
from saltsim_cloudsim.config import CloudSimConfig
from saltsim_cloudsim.machine import Instance

__all__ = ["Backend", "make_backend", "option_env"]


class Backend(Protocol):
    name: str

    async def start(self, instance: Instance, deploy: DeployBody) -> str:
        """Start the instance's minion; its handle (container name or pid)."""

    async def stop(self, instance: Instance, handle: str) -> None:
        """Stop and remove the minion ``handle`` and whatever was made for it."""

    async def close(self) -> None:
        """Stop and remove every minion this backend started."""


def option_env(options: dict[str, Any]) -> dict[str, str]:
    """``SALTSIM_<OPTION>`` values the minion's config loader parses back (YAML reads
    JSON), strings as they are."""
    return {
        f"SALTSIM_{key.upper()}": value if isinstance(value, str) else json.dumps(value)
        for key, value in options.items()
    }


def make_backend(config: CloudSimConfig) -> Backend:
    """The configured backend; the docker one checks the engine and its network now."""
    if config.backend == "docker":
        from saltsim_cloudsim.docker_backend import DockerBackend

        return DockerBackend(config)
    from saltsim_cloudsim.local_backend import LocalBackend

    return LocalBackend(config)
