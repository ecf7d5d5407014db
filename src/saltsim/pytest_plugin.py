"""pytest fixtures for saltsim, registered through the ``pytest11`` entry point.

A test marked ``docker`` gets containers (and skips when no engine answers), any other
test local processes. ``testbed`` is one testbed per test; ``module_testbed`` one per
module, for tests that share a master. Both take ``testbed_options`` (module scope):
override it in a module to change the options, or parametrise it there (``params=``)
to run the module once per set of options. A test whose testbed needs options of its
own says so with ``@pytest.mark.testbed_options(**options)`` (``testbed`` only).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from saltsim.bus import EventBus
from saltsim.busprocess import BusProcess
from saltsim.client import EventClient

if TYPE_CHECKING:
    from saltsim.recorder import Recorder
    from saltsim.scenario.runner import RunOutcome
    from saltsim.testbed.base import Testbed

__all__ = [
    "MARKERS",
    "REQUIRE_DOCKER_ENV",
    "bus_process",
    "docker_engine",
    "event_bus",
    "event_listener",
    "module_testbed",
    "recorder",
    "scenario",
    "testbed",
    "testbed_options",
]

REQUIRE_DOCKER_ENV = "SALTSIM_REQUIRE_DOCKER"

# The markers these fixtures read or the docs tell a project to use; registered here so
# a project running with --strict-markers needs no list of its own.
MARKERS = (
    "docker: needs a Docker engine (saltsim's testbed and scenario fixtures use containers)",
    "functional: real processes on 127.0.0.1 (saltsim's local backend)",
    "testbed_options(**options): this test's testbed options, in place of the fixture's",
)


def pytest_configure(config: pytest.Config) -> None:
    for line in MARKERS:
        config.addinivalue_line("markers", line)


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


@pytest.fixture(scope="module")
def testbed_options() -> dict[str, Any]:
    """Keyword arguments of the testbed fixtures' backend (``dialect``, ``master_options``,
    ``minion_options``, ...); override this fixture in a module to change them. Module
    scope, so ``module_testbed`` can use it: an override must not be narrower."""
    return {
        "master_options": {"presence_events": True, "loop_interval": 1.0, "auto_accept": True},
        "minion_options": {"heartbeat_interval": 0.5},
    }


@contextlib.contextmanager
def _started(request: pytest.FixtureRequest, options: dict[str, Any]) -> Iterator[Testbed]:
    if _backend(request) == "docker":
        from saltsim.testbed.docker_backend import DockerTestbed

        with DockerTestbed(**options) as docker_bed:
            yield docker_bed
        return
    from saltsim.testbed.local import LocalTestbed

    with LocalTestbed(**options) as local_bed:
        yield local_bed


@pytest.fixture
def testbed(request: pytest.FixtureRequest, testbed_options: dict[str, Any]) -> Iterator[Testbed]:
    """A started testbed of its own for each test: containers for tests marked ``docker``,
    else local processes. No minions yet: ``testbed.add_minion(id)``. The options are
    the test's ``testbed_options`` marker's when it has one."""
    marker = request.node.get_closest_marker("testbed_options")
    options = testbed_options if marker is None else marker.kwargs
    with _started(request, options) as bed:
        yield bed


@pytest.fixture(scope="module")
def module_testbed(
    request: pytest.FixtureRequest, testbed_options: dict[str, Any]
) -> Iterator[Testbed]:
    """As ``testbed``, one for the whole module (tests that share a master and its
    minions); containers when the module is marked ``docker``."""
    with _started(request, testbed_options) as bed:
        yield bed


@pytest.fixture
def recorder(testbed: Testbed) -> Iterator[Recorder]:
    """Every event on ``testbed``'s bus from now on (``saltsim.recorder.Recorder``)."""
    with testbed.recorder() as rec:
        yield rec


@pytest.fixture
def scenario(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[..., RunOutcome]:
    """``scenario(name_or_path, dialect=None, minions=None, backend=None)`` runs a scenario
    file and returns its ``RunOutcome`` (``.ok``, ``.report()``); the backend defaults to
    docker for tests marked ``docker``, else local. Results go under ``tmp_path``."""
    from saltsim.cli.scenario import find_scenario
    from saltsim.scenario import load_scenario
    from saltsim.scenario.runner import ScenarioRunner

    def run(name: str, **overrides: Any) -> RunOutcome:
        loaded = load_scenario(find_scenario(name))
        overrides.setdefault("backend", _backend(request))
        lines: list[str] = []
        outcome = ScenarioRunner(
            loaded.with_overrides(**overrides), tmp_path / "results", lines.append
        ).run()
        outcome.progress = "\n".join(lines)
        return outcome

    return run
