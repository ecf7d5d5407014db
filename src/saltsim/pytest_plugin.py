"""pytest fixtures for saltsim, registered through the ``pytest11`` entry point."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from saltsim.bus import EventBus
from saltsim.busproc import BusProcess
from saltsim.client import EventClient

__all__ = ["REQUIRE_DOCKER_ENV", "bus_process", "docker_engine", "event_bus", "event_listener"]

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
