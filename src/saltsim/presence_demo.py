"""A presence run on the local backend, until the scenario runner (issue #5) takes over.

Starts a master and three minions, kills one and starts it again, and checks
that the bus shows each minion start, then ``salt/presence/change`` with the
killed minion lost, then new again. Prints every event as ``state.event`` does.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from saltsim.client import EventClient
from saltsim.event import Event
from saltsim.testbed.local import LocalTestbed

__all__ = ["run_presence_demo"]


def _show(event: Event) -> None:
    print(f"{event.tag}\t{json.dumps(event.full, sort_keys=True)}", flush=True)


def _await(events: EventClient, what: str, ok: Callable[[Event], bool], timeout: float) -> Event:
    """Print events until one satisfies ``ok``; one deadline."""
    deadline = time.monotonic() + timeout
    while (remaining := deadline - time.monotonic()) > 0:
        event = events.next_event(remaining)
        if event is None:
            break
        if event.tag.startswith("saltsim/"):
            continue
        _show(event)
        if ok(event):
            return event
    raise TimeoutError(f"presence demo: no {what} within {timeout:.0f}s")


def run_presence_demo(minions: int = 3, dialect: str = "3008") -> int:
    ids = [f"minion-{n}" for n in range(1, minions + 1)]
    victim = ids[-1]
    options = {
        "presence_events": True,
        "loop_interval": 1.0,
        "heartbeat_timeout": 3.0,
        "auto_accept": True,
    }
    started = time.monotonic()
    with LocalTestbed(
        dialect=dialect, master_options=options, minion_options={"heartbeat_interval": 0.5}
    ) as bed:
        events = bed.listener()
        try:
            for minion_id in ids:
                bed.add_minion(minion_id)
            _await(
                events,
                "presence of every minion",
                lambda e: e.tag == "salt/presence/present" and set(e.data["present"]) == set(ids),
                60,
            )
            print(f"# killing {victim} (SIGKILL)", flush=True)
            bed.kill_minion(victim)
            _await(
                events,
                f"{victim} lost",
                lambda e: e.tag == "salt/presence/change" and victim in e.data["lost"],
                30,
            )
            print(f"# starting {victim} again", flush=True)
            bed.start_minion(victim)
            _await(
                events,
                f"{victim} new again",
                lambda e: e.tag == "salt/presence/change" and victim in e.data["new"],
                30,
            )
        finally:
            lost = events.lost
            events.close()
    took = time.monotonic() - started
    print(f"# presence demo passed in {took:.1f}s; events lost by the listener: {lost}")
    return 0 if lost == 0 else 1
