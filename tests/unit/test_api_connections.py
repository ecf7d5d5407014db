"""The REST API's connection guard, without sockets: its timers and its throttled log.

The functional tests (test_fn_api_limits.py) prove the cap and the timeouts on a real
master; these pin the rules: a connection with a request in progress is never cut by
the idle timer, an idle one is, and a flood of accept errors logs one warning.
"""

from __future__ import annotations

import asyncio
import logging

import pytest
from saltsim_master.api import connections
from saltsim_master.api.connections import ConnectionLimits, Connections, Guarded
from saltsim_master.config import MasterConfig


class FakeTransport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.aborted = False
        self.dropped = asyncio.Event()

    def abort(self) -> None:
        self.aborted = True
        self.dropped.set()

    def is_closing(self) -> bool:
        return self.aborted


class Inner(asyncio.Protocol):
    def __init__(self) -> None:
        self.made = self.lost = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.made = True

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True


def test_an_idle_connection_is_dropped_and_a_busy_one_is_not() -> None:
    async def scenario() -> tuple[bool, bool, dict[str, int]]:
        limits = ConnectionLimits(max_connections=2, header_timeout=0.05, idle_timeout=0.05)
        owner = Connections(Inner, limits, None)
        owner.open = 2  # as accept() counted them
        inner = Inner()
        idle, busy = Guarded(inner, owner), Guarded(Inner(), owner)
        idle_t, busy_t = FakeTransport(), FakeTransport()
        busy.connection_made(busy_t)  # first: its timer would have fired before idle's
        idle.connection_made(idle_t)
        with owner.request(busy_t):
            await asyncio.wait_for(idle_t.dropped.wait(), 10)
            busy_survived = not busy_t.aborted
        busy.connection_lost(None)
        idle.connection_lost(None)
        return busy_survived, inner.lost, {"open": owner.open, **owner.counts}

    busy_survived, passed_on, counts = asyncio.run(scenario())
    assert busy_survived and passed_on
    assert counts == {"open": 0, "header_timeouts": 1}


def test_accept_errors_log_one_warning_a_minute(caplog: pytest.LogCaptureFixture) -> None:
    now = [1000.0]
    throttled = connections._Throttled(clock=lambda: now[0])
    with caplog.at_level(logging.WARNING, logger=connections.__name__):
        for _ in range(1000):
            throttled.warn("accept", "accept() failed: %s", "EMFILE")
        now[0] += 61
        throttled.warn("accept", "accept() failed: %s", "EMFILE")
    messages = [r.getMessage() for r in caplog.records]
    assert messages == [
        "REST API: accept() failed: EMFILE (1 since the last warning)",
        "REST API: accept() failed: EMFILE (1000 since the last warning)",
    ]


def test_connection_limits_come_from_the_master_config() -> None:
    config = MasterConfig(api_max_connections=5, api_header_timeout=1, api_idle_timeout=2)
    assert ConnectionLimits.of(config) == ConnectionLimits(5, 1, 2)
