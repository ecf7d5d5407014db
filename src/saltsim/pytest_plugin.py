"""pytest fixtures for saltsim, registered through the ``pytest11`` entry point."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from saltsim.bus import EventBus
from saltsim.busprocess import BusProcess
from saltsim.client import EventClient

__all__ = [
    "REQUIRE_DOCKER_ENV",
    "bus_process",
    "docker_engine",
    "event_bus",
    "event_listener",
    "recorder",
    "scenario",
    "testbed",
    "testbed_options",
]

REQUIRE_DOCKER_ENV = "SALTSIM_REQUIRE_DOCKER"


@pytest.fixture
def event_bus() -> Iterator[EventBus]:
    """A bus serving in a thread of the test process, on free 127.0.0.1 ports."""
    with EventBus("tcp://127.0.0.1:0", "tcp://127.0.0.1:0") as bus:
        yield bus


@pytest.fixture
def bus_process() -> Iterator[BusProcess]:
    """A bus in its own process, on free 127.0.0.1 ports."""
    with BusProcess() as proc:
        yield proc


@pytest.fixture
def event_listener(event_bus: EventBus) -> Iterator[EventClient]:
    """A client armed on ``event_bus``: it provably receives before the test acts."""
    with EventClient(event_bus.pub_address, event_bus.pull_address) as client:
        client.wait_ready(10)
        yield client


@pytest.fixture(scope="session")
def docker_engine() -> None:
    """Skip (one line) when no Docker engine answers; fail instead when
    ``SALTSIM_REQUIRE_DOCKER`` is set, as CI does, so CI cannot pass without them."""
    from saltsim.testbed._engine import engine_reachable

    reason = engine_reachable()
    if reason is None:
        return
    if os.environ.get(REQUIRE_DOCKER_ENV):
        pytest.fail(f"{reason}; {REQUIRE_DOCKER_ENV} is set, so docker tests may not skip")
    pytest.skip(f"docker tests skipped: {reason}")


def _backend(request: pytest.FixtureRequest) -> str:
    """docker for tests marked ``docker`` (they need the engine), else local."""
    if request.node.get_closest_marker("docker") is not None:
        request.getfixturevalue("docker_engine")
        return "docker"
    return "local"


@pytest.fixture
def testbed_options() -> dict[str, Any]:
    """Options of the ``testbed`` fixture; override this fixture in a module to change them."""
    return {
        "master_options": {"presence_events": True, "loop_interval": 1.0, "auto_accept": True},
        "minion_options": {"heartbeat_interval": 0.5},
    }


@pytest.fixture
def testbed(request: pytest.FixtureRequest, testbed_options: dict[str, Any]) -> Iterator[Any]:
    """A started testbed: containers for tests marked ``docker``, else local processes.
    No minions yet: ``testbed.add_minion(id)``."""
    if _backend(request) == "docker":
        from saltsim.testbed.docker_backend import DockerTestbed

        with DockerTestbed(**testbed_options) as docker_bed:
            yield docker_bed
        return
    from saltsim.testbed.local import LocalTestbed

    with LocalTestbed(**testbed_options) as local_bed:
        yield local_bed


@pytest.fixture
def recorder(testbed: Any) -> Iterator[Any]:
    """Every event on ``testbed``'s bus from now on (``saltsim.recorder.Recorder``)."""
    with testbed.recorder() as rec:
        yield rec


@pytest.fixture
def scenario(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[..., Any]:
    """``scenario(name_or_path, dialect=None, minions=None, backend=None)`` runs a scenario
    file and returns its ``RunOutcome`` (``.ok``, ``.report()``); the backend defaults to
    docker for tests marked ``docker``, else local. Results go under ``tmp_path``."""
    from saltsim.cli.scenario import find_scenario
    from saltsim.scenario import load_scenario
    from saltsim.scenario.runner import ScenarioRunner

    def run(name: str, **overrides: Any) -> Any:
        loaded = load_scenario(find_scenario(name))
        overrides.setdefault("backend", _backend(request))
        lines: list[str] = []
        outcome = ScenarioRunner(
            loaded.with_overrides(**overrides), tmp_path / "results", lines.append
        ).run()
        outcome.progress = "\n".join(lines)
        return outcome

    return run
