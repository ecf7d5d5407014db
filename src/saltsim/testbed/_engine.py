"""Reaching the Docker engine and the Compose tool, each with a one-line refusal.

Compose answers as ``docker compose`` (v2 plugin) on some machines and as
``docker-compose`` (v1) on others; it is detected, never assumed. The project
file is the repository's ``docker-compose.yml``.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from saltsim.errors import EngineUnavailableError, TestbedError

__all__ = [
    "SESSION_LABEL",
    "EngineUnavailableError",
    "compose_command",
    "compose_file",
    "engine",
    "engine_reachable",
]

SESSION_LABEL = "org.saltsim.session"
# EngineUnavailableError is saltsim's one "no engine" error (saltsim.errors); it stays
# importable from here, where the engine is reached.


def engine() -> Any:
    """A docker SDK client that has answered a ping."""
    import docker  # the SDK is only needed where there is an engine

    where = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    try:
        client = docker.from_env(timeout=120)
        client.ping()
    except Exception as exc:  # the SDK raises several unrelated types for "no engine"
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise EngineUnavailableError(f"no Docker engine reachable at {where}: {reason}") from exc
    return client


def engine_reachable() -> str | None:
    """None when an engine answers, else the one-line reason."""
    try:
        engine().close()
    except EngineUnavailableError as exc:
        return str(exc)
    return None


@functools.cache
def compose_command() -> tuple[str, ...]:
    """``("docker", "compose")`` or ``("docker-compose",)``, whichever answers."""
    candidates: list[tuple[str, ...]] = []
    if shutil.which("docker"):
        candidates.append(("docker", "compose"))
    if shutil.which("docker-compose"):
        candidates.append(("docker-compose",))
    for command in candidates:
        probe = subprocess.run(
            [*command, "version"], capture_output=True, text=True, timeout=60, check=False
        )
        if probe.returncode == 0:
            return command
    raise EngineUnavailableError(
        "no Compose found: neither `docker compose` nor `docker-compose` answers `version`"
    )


def compose_file() -> Path:
    """The project's compose file: ``SALTSIM_COMPOSE_FILE``, else the repository's."""
    override = os.environ.get("SALTSIM_COMPOSE_FILE")
    path = (
        Path(override) if override else Path(__file__).resolve().parents[3] / "docker-compose.yml"
    )
    if not path.is_file():
        raise TestbedError(
            f"compose file {path} not found; run from a checkout of saltsim or set "
            "SALTSIM_COMPOSE_FILE"
        )
    return path
