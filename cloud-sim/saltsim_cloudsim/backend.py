"""What a backend does for an instance: start its minion on deploy, remove it on destroy.

The interface only: it knows none of its implementations, ``LocalBackend`` (a minion
process, ``local_backend``) and ``DockerBackend`` (a minion container on the testbed
network, ``docker_backend``), which depend on it. Choosing one by name is done where
the service is wired, ``__main__``. Both turn the deploy's minion options into the
``SALTSIM_<OPTION>`` environment the minion's config loader reads (``option_env``), as
the testbed's docker backend does.
"""

from __future__ import annotations

import json
from typing import Any, Protocol

from saltsim_cloudsim.bodies import DeployBody
from saltsim_cloudsim.machine import Instance

__all__ = ["Backend", "option_env"]


class Backend(Protocol):
    """Where a deployed instance's minion runs; ``name`` is the configured backend name."""

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
