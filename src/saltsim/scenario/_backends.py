"""What each backend can run: a step it cannot do is a load-time error, never a skip."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from saltsim.scenario._errors import ScenarioError

if TYPE_CHECKING:
    from saltsim.scenario.spec import Settings, Step

__all__ = ["IMPLEMENTATIONS", "UNSUPPORTED", "check_backend", "implementation"]

# Step kinds a backend cannot run, and why (the error says it with file:line).
UNSUPPORTED: dict[str, dict[str, str]] = {
    "salt": {
        "cloud": "real salt-cloud has no driver for cloud-sim yet; run it on docker or local",
        "cmd_async": "the salt backend's client (SaltCli) has no asynchronous publish yet",
    },
}
# Which implementation of Salt a backend runs: saltsim's re-implementation or real Salt.
IMPLEMENTATIONS = ("saltsim", "salt")
_IMPLEMENTATION = {"local": "saltsim", "docker": "saltsim", "salt": "salt"}


def implementation(backend: str) -> str:
    """``saltsim`` for the local and docker backends, ``salt`` for real Salt."""
    return _IMPLEMENTATION.get(backend, "saltsim")


def check_backend(source: str, settings: Settings, steps: Sequence[Step]) -> None:
    """``ScenarioError`` at the first step (or setting) the backend cannot run."""
    refused = UNSUPPORTED.get(settings.backend, {})
    for step in steps:
        if step.kind in refused:
            raise ScenarioError(
                source,
                step.line,
                f"the {settings.backend} backend cannot run {step.kind!r} steps: "
                f"{refused[step.kind]}",
            )
    if settings.cloud is not None and "cloud" in refused:
        raise ScenarioError(
            source, None, f"the {settings.backend} backend has no cloud: {refused['cloud']}"
        )
