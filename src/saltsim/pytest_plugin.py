"""pytest fixtures for saltsim, registered through the ``pytest11`` entry point."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from saltsim.bus import EventBus
from saltsim.busproc import BusProcess
from saltsim.client import EventClient

__all__ = ["bus_process", "event_bus", "event_listener"]


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
