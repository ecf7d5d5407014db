"""Without a Docker engine every docker command says so in one line; nothing crashes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from saltsim.testbed._engine import EngineUnavailableError, engine
from saltsim.testbed.docker_backend import DockerTestbed

pytestmark = pytest.mark.functional

NOWHERE = {"DOCKER_HOST": "unix:///nonexistent/docker.sock"}


def _run(*argv: str) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run(
        [sys.executable, "-m", *argv],
        env={**os.environ, **NOWHERE},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_images_without_engine_says_so_in_one_line() -> None:
    done = _run("saltsim.testbed.images")
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "no Docker engine reachable" in lines[0]
    tolerant = _run("saltsim.testbed.images", "--if-engine")
    assert tolerant.returncode == 0 and len(tolerant.stderr.strip().splitlines()) == 1


def test_clean_without_engine_says_so_in_one_line() -> None:
    done = _run("saltsim", "clean")
    assert done.returncode == 0
    assert len(done.stderr.strip().splitlines()) == 1 and "no Docker engine" in done.stderr


def test_scenario_run_without_engine_falls_back_to_local_with_a_note(tmp_path: Path) -> None:
    done = _run("saltsim", "scenario", "run", "presence", "--results", str(tmp_path))
    assert done.returncode == 0, done.stdout[-3000:]
    assert "no Docker engine reachable" in done.stderr and "local backend" in done.stderr
    assert "backend local" in done.stdout and "PASSED: presence" in done.stdout


def test_docker_testbed_without_engine_raises_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in NOWHERE.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(EngineUnavailableError) as failure:
        engine()
    assert "\n" not in str(failure.value)
    with pytest.raises(EngineUnavailableError):
        DockerTestbed().start()
