"""The real-Salt tier: presence and keys run live on a real salt-master and salt-minions
every time, and are compared with the committed real-Salt recordings (goldens/, made by
``make salt-goldens``), so neither the goldens nor the normalising can drift from real
Salt unnoticed; then saltsim's runs are compared with the goldens, differences declared in
the scenario files allowed."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from saltsim.cli.scenario import find_scenario
from saltsim.scenario import load_scenario, read_record
from saltsim.scenario.diff import render_text
from saltsim.scenario.diff_run import diff_runs
from saltsim.testbed.base import TestbedError

pytestmark = [pytest.mark.salt, pytest.mark.docker]

GOLDENS = Path(__file__).parent / "goldens"
# The catalogue's own files: scenarios/presence.yaml waits for every start sequence (real
# Salt may report presence before a minion's start events), so its live runs are stable.
SCENARIOS = {
    "presence": "presence",
    "keys": "keys",
}
START_3008 = [
    "salt/auth",
    "minion/refresh/{m}",
    "minion_start",
    "resource/refresh/{m}",
    "salt/minion/{m}/start",
]


@pytest.fixture(scope="module")
def salt_image(docker_engine: None) -> str:
    from saltsim.testbed.salt_image import ensure_salt_image

    return ensure_salt_image(log=lambda _line: None)


def test_a_salt_master_that_cannot_start_fails_at_once_with_its_logs(salt_image: str) -> None:
    from saltsim.testbed.salt_backend import SaltTestbed

    bed = SaltTestbed(
        master_options={"publish_port": "not-a-port"},
        image=salt_image,
        start_timeout=60,
        say=lambda _line: None,
    )
    with pytest.raises(TestbedError, match="salt-master container exited"):
        bed.start()


def test_the_bridge_lets_in_only_its_key_and_drops_bad_frames(salt_image: str) -> None:
    import zmq

    from saltsim.client import EventClient
    from saltsim.errors import EventTimeoutError
    from saltsim.testbed.salt_backend import SaltTestbed

    with SaltTestbed(image=salt_image, say=lambda _line: None) as bed:
        stranger = EventClient(bed.bus_pub, bed.bus_pull)  # no CURVE keys
        with stranger, pytest.raises(EventTimeoutError):
            stranger.wait_ready(3)
        with bed.listener() as listener:
            assert bed.bus_curve is not None
            ctx = zmq.Context()
            push = ctx.socket(zmq.PUSH)
            push.setsockopt(zmq.LINGER, 1000)
            bed.bus_curve.apply(push)
            push.connect(bed.bus_pull)
            push.send(b"no blank line, no msgpack")
            push.close()
            ctx.term()
            listener.fire_event({"after": "garbage"}, "test/bridge/after")
            event = listener.wait_for("test/bridge/after", timeout=15)
            assert event.data == {"after": "garbage"}
            assert listener.lost == 0  # the bridge went on numbering, nothing skipped


def _start_order(run: Any, minion: str) -> list[str]:
    wanted = {t.format(m=minion) for t in START_3008}
    return [
        e.tag
        for e in run.events
        if e.tag in wanted
        and (e.tag != "salt/auth" or (e.data.get("id"), e.data.get("act")) == (minion, "accept"))
        and (e.tag != "minion_start" or e.data.get("id") == minion)
    ][:5]


@pytest.mark.parametrize("name", ["presence", "keys"])
def test_live_real_salt_matches_its_golden(
    name: str, salt_image: str, scenario: Callable[..., Any]
) -> None:
    outcome = scenario(SCENARIOS[name], backend="salt")
    run = outcome.run
    assert run.lost == 0 and run.backend == "salt"
    assert _start_order(run, "m1") == [t.format(m="m1") for t in START_3008]
    loaded = load_scenario(find_scenario(SCENARIOS[name]))
    golden = read_record(GOLDENS / f"{loaded.name}-3008.jsonl")
    result = diff_runs(loaded, golden, run)
    # Real Salt against real Salt: what it does and with which payloads must not drift;
    # the order of two processes' events (salt-key's salt/key and the minion's next
    # sign-in) is a race inside Salt itself, so order is not judged here.
    left = [f for f in result.undeclared if f.kind != "order"]
    assert not left, render_text(result)
