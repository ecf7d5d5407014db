"""cloud-sim's backend is chosen by name where the service is wired (``__main__``); the
``Backend`` interface knows none of its implementations."""

from __future__ import annotations

from pathlib import Path

import pytest
from saltsim_cloudsim.__main__ import BACKEND_TYPES, make_backend
from saltsim_cloudsim.backend import Backend
from saltsim_cloudsim.config import BACKENDS, CloudSimConfig
from saltsim_cloudsim.docker_backend import DockerBackend
from saltsim_cloudsim.local_backend import LocalBackend


def backend_name(backend: Backend) -> str:
    """Typed with the Protocol: mypy proves each implementation passed here fits it."""
    return backend.name


def test_every_configurable_name_has_a_backend_of_that_name() -> None:
    assert sorted(BACKEND_TYPES) == sorted(BACKENDS)
    assert BACKEND_TYPES["local"] is LocalBackend and BACKEND_TYPES["docker"] is DockerBackend
    assert (LocalBackend.name, DockerBackend.name) == ("local", "docker")  # the ready line's


def test_the_local_backend_is_the_default_and_takes_its_settings(tmp_path: Path) -> None:
    backend = make_backend(CloudSimConfig(workdir=str(tmp_path), minion_stop_timeout=2.0))
    assert isinstance(backend, LocalBackend)
    assert backend_name(backend) == "local"
    assert (backend.workdir, backend.stop_timeout) == (tmp_path, 2.0)


def test_the_configured_name_picks_the_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[tuple[str, CloudSimConfig]] = []

    class Fake(LocalBackend):
        def __init__(self, config: CloudSimConfig) -> None:
            super().__init__(config)
            made.append((config.backend, config))

    monkeypatch.setitem(BACKEND_TYPES, "docker", Fake)  # no engine needed
    config = CloudSimConfig(backend="docker")
    assert isinstance(make_backend(config), Fake)
    assert made == [("docker", config)]
