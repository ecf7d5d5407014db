"""The Recorder's lifecycle against a bus in this process (no daemons)."""

from __future__ import annotations

import threading

from saltsim.bus import EventBus
from saltsim.recorder import Recorder


def _readers() -> int:
    return sum(t.name == "saltsim-recorder" and t.is_alive() for t in threading.enumerate())


def test_with_on_a_started_recorder_keeps_one_reader(event_bus: EventBus) -> None:
    """``with Recorder(...).start() as rec`` once started a second reader thread that
    close() never joined; it then read from the closed socket (ZMQError in a thread)."""
    before = _readers()
    with Recorder(event_bus.pub_address, event_bus.pull_address).start() as rec:
        assert _readers() == before + 1
        assert rec.fire("t/once", {"n": 1})
        assert rec.wait_for("t/once", 10).data == {"n": 1}
    assert _readers() == before
