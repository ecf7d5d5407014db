"""The churning swarm: every cycle is a real sign-in, start-up and goodbye, seen on the bus.

``bench.churn`` counts cycles from the bus and trusts this shape: per id, ``salt/auth``
accept, the refresh events, ``minion_start``, ``salt/minion/<id>/start``, and again;
after the last goodbye the master counts none of them connected.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from saltsim_minion.config import MinionConfig
from saltsim_minion.reconnect_swarm import ChurningSwarm
from saltsim_minion.swarm import swarm_ids

from saltsim.client import EventClient
from saltsim.event import Event
from saltsim.testbed.local import LocalTestbed

pytestmark = pytest.mark.functional

MASTER = {"auto_accept": True, "presence_events": True, "loop_interval": 0.3}


def _cycle(minion_id: str) -> list[str]:
    return [
        "salt/auth",
        f"minion/refresh/{minion_id}",
        "minion_start",
        f"resource/refresh/{minion_id}",  # dialect 3008: _register_resources, after minion_start
        f"salt/minion/{minion_id}/start",
    ]


def _projection(events: list[Event], minion_id: str) -> list[Event]:
    """The id's own events: by ``id`` in the payload, or by the id in the tag."""
    return [
        e
        for e in events
        if (e.tag in ("salt/auth", "minion_start") and e.data.get("id") == minion_id)
        or (e.tag in _cycle(minion_id) and e.tag not in ("salt/auth", "minion_start"))
    ]


def _none_present_after(events: EventClient, ids: list[str]) -> list[str]:
    """The first presence list computed after everything collected so far (one deadline)."""
    present: list[str] = events.wait_for("salt/presence/present", 10).data["present"]
    return sorted(set(ids) & set(present))


@pytest.fixture(scope="module")
def testbed_options() -> dict[str, Any]:
    return {"master_options": MASTER}


def test_each_cycle_signs_in_starts_up_and_says_goodbye(
    testbed: LocalTestbed, tmp_path: Path
) -> None:
    ids = swarm_ids("churn", 3)
    with testbed.listener() as events:
        template = MinionConfig(master="127.0.0.1", master_port=testbed.ports["ret_port"])
        swarm = ChurningSwarm(template, ids, tmp_path / "keys", cycles=7, seconds=60)
        stats = asyncio.run(swarm.run())  # bounded by the cycle count (and the deadline)
        seen = events.collect()
        still_present = _none_present_after(events, ids)
        lost = events.lost

    assert (stats.cycles, stats.failed, dict(stats.errors)) == (7, 0, {})
    assert sum(stats.by_id.values()) == 7 and min(stats.by_id.values()) >= 1
    for minion_id in ids:
        own = _projection(seen, minion_id)
        assert [e.tag for e in own] == _cycle(minion_id) * stats.by_id[minion_id]
        assert {e.data["act"] for e in own if e.tag == "salt/auth"} == {"accept"}
        start = own[-1].data
        assert start["cmd"] == "_minion_event" and start["id"] == minion_id
        assert start["data"].startswith(f"Minion {minion_id} started at ")
    assert still_present == []  # every goodbye closed its session
    assert lost == 0


def test_the_command_line_reports_ready_then_what_it_churned(
    testbed: LocalTestbed, tmp_path: Path
) -> None:
    with testbed.listener() as events:
        argv = [sys.executable, "-m", "saltsim_minion.reconnect_swarm", "--master", "127.0.0.1"]
        argv += ["--master-port", str(testbed.ports["ret_port"]), "--count", "2", "--prefix", "cli"]
        argv += ["--keys-dir", str(tmp_path / "keys"), "--cycles", "3", "--seconds", "60"]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
        seen = events.collect()

    assert done.returncode == 0, done.stderr
    ready, churned = (json.loads(line) for line in done.stdout.splitlines())
    assert ready == {"ready": 2, "prefix": "cli"}
    assert churned["churned"]["cycles"] == 3 and churned["churned"]["failed"] == 0
    starts = [e.tag for e in seen if e.tag.startswith("salt/minion/cli-")]
    assert len(starts) == 3
