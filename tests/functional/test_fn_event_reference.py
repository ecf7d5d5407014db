"""What the master emits, checked against the event reference (docs/events.yaml), both ways.

Every catalogue scenario the local backend can run, in both dialects, then the actions no
scenario makes (salt-api's wheel client, webhooks, an event stream, ``EventClient.collect``,
salt-call's ``event.send``, a client's own event), each on a recorder. Every recorded event
must fit a form of the reference: an unknown tag, a missing or an extra key fails, naming
the tag, the dialect and the key. And every form of the reference must have been seen in
each of its dialects, unless the reference says why no test produces it: so neither the
master nor the reference can change without the other.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from saltsim.cli.scenario import scenarios_dir
from saltsim.errors import SaltsimError
from saltsim.event import Event
from saltsim.eventref import DIALECTS, Reference, ReferenceChecker
from saltsim.scenario import Fire, load_scenario
from saltsim.scenario.runner import ScenarioRunner
from saltsim.testbed.local import LocalTestbed

pytestmark = [pytest.mark.functional, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "docs" / "events.yaml"
NETWORK_STEPS = {"disconnect", "reconnect"}  # docker only (tests/scenarios says the same)
USER, PASSWORD = "refuser", "refpass"
CLIENT_TAG = "my/client/event"
DEADLINE = 30.0
SHOWN = 30  # problems listed in a failure; the rest are counted


@dataclass
class Evidence:
    """The checker of one dialect and what it found."""

    dialect: str
    checker: ReferenceChecker
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # step failures: why something is unseen

    def check(self, events: list[Event], source: str, client_tags: set[str]) -> None:
        for event in events:
            for problem in self.checker.check(event.tag, event.full, self.dialect, client_tags):
                self.problems.append(f"{source}: {problem}")


def _run_scenarios(evidence: Evidence, results: Path) -> None:
    for path in sorted(scenarios_dir().glob("*.yaml")):
        try:
            loaded = load_scenario(path)
            if any(step.kind in NETWORK_STEPS for step in loaded.steps):
                continue
            scenario = loaded.with_overrides(backend="local", dialect=evidence.dialect)
            outcome = ScenarioRunner(scenario, results, lambda line: None).run()
        except SaltsimError as exc:  # a scenario that cannot run: said if a form is unseen
            evidence.notes.append(f"scenario {path.stem} did not run: {exc}")
            continue
        fired = {step.args.tag for step in scenario.steps if isinstance(step.args, Fire)}
        evidence.check(outcome.run.events, f"scenario {path.stem}", fired)
        if outcome.step_error:
            evidence.notes.append(f"scenario {path.stem}: {outcome.step_error}")


def _api(bed: LocalTestbed) -> httpx.Client:
    client = httpx.Client(
        base_url=f"https://127.0.0.1:{bed.ports['api_port']}", verify=False, timeout=DEADLINE
    )
    reply = client.post("/login", json={"username": USER, "password": PASSWORD, "eauth": "auto"})
    assert reply.status_code == 200, reply.text
    client.headers["X-Auth-Token"] = reply.json()["return"][0]["token"]
    return client


def _salt_call(bed: LocalTestbed, minion_id: str) -> None:
    """``salt-call event.send`` beside the minion: its own sign-in, event and return."""
    pki = bed.workdir / "minions" / minion_id / "pki"
    argv = [sys.executable, "-m", "saltsim", "event", "send", "--minion", str(pki), "ref/x", "a=1"]
    sent = subprocess.run(argv, capture_output=True, text=True, timeout=DEADLINE, check=False)
    assert sent.returncode == 0, sent.stderr


def _run_actions(evidence: Evidence) -> None:
    """What no scenario does, on one testbed with the REST API."""
    options: dict[str, Any] = {
        "dialect": evidence.dialect,
        "master_options": {"auto_accept": True, "api_users": {USER: PASSWORD}},
        "minion_options": {"heartbeat_interval": 0.5},
    }
    with LocalTestbed(**options) as bed, bed.recorder() as recorder:
        bed.add_minion("ref1")
        recorder.wait_for("salt/minion/ref1/start", DEADLINE)
        with contextlib.closing(_api(bed)) as api:
            for low in ({"fun": "key.list_all"}, {"fun": "key.nosuch"}):
                reply = api.post("/", json=[{"client": "wheel", **low}])
                assert reply.status_code == 200, reply.text
            for path in ("/hook/ref/build", "/hook"):
                assert api.post(path, json={"ok": 1}).status_code == 200
            with api.stream("GET", "/events") as stream:  # the API arms its subscription
                assert stream.status_code == 200
                next(stream.iter_lines())
        _salt_call(bed, "ref1")
        recorder.wait_for(lambda e: e.data.get("fun") == "event.send", DEADLINE)
        recorder.fire(CLIENT_TAG, {"from": "the test"})
        with bed.listener() as client:
            client.collect(DEADLINE)  # its sentinel
        recorder.wait_for(lambda e: e.tag.startswith("saltsim/listener/sentinel/"), DEADLINE)
        evidence.check(recorder.since(0), "actions", {CLIENT_TAG})


@pytest.fixture(scope="module")
def evidence(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Evidence]]:
    reference = Reference.read(REFERENCE)
    found: dict[str, Evidence] = {}
    for dialect in DIALECTS:
        found[dialect] = Evidence(dialect, ReferenceChecker(reference))
        _run_scenarios(found[dialect], tmp_path_factory.mktemp(f"results-{dialect}"))
        _run_actions(found[dialect])
    yield found


@pytest.mark.timeout(1500)
@pytest.mark.parametrize("dialect", DIALECTS)
def test_every_event_the_master_emits_is_in_the_reference(
    evidence: dict[str, Evidence], dialect: str
) -> None:
    seen = evidence[dialect]
    assert seen.checker.checked > 500, f"only {seen.checker.checked} events recorded"
    assert not seen.problems, (
        f"{len(seen.problems)} events do not fit docs/events.yaml (fix the master, or the "
        "reference and then `make events-doc`):\n"
        + "\n".join(seen.problems[:SHOWN])
        + (f"\n... and {len(seen.problems) - SHOWN} more" if len(seen.problems) > SHOWN else "")
    )


@pytest.mark.timeout(1500)
@pytest.mark.parametrize("dialect", DIALECTS)
def test_every_form_of_the_reference_was_seen(evidence: dict[str, Evidence], dialect: str) -> None:
    seen = evidence[dialect]
    unseen = seen.checker.unseen([dialect])
    assert not unseen, (
        "no run produced these forms of docs/events.yaml: make a scenario or this test "
        "produce them, or give the entry `unchecked: <why>`:\n"
        + "\n".join(unseen)
        + ("\nsteps that failed on the way:\n" + "\n".join(seen.notes) if seen.notes else "")
    )
