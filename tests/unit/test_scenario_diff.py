"""scenario diff's normalising and comparing, and the file's declared differences."""

from __future__ import annotations

from typing import Any

import pytest

from saltsim.event import Event
from saltsim.scenario import ScenarioError, check, load_scenario_text
from saltsim.scenario.diff import compare, render_text
from saltsim.scenario.diff_html import render_diff_html
from saltsim.scenario.normalise import normalise
from saltsim.scenario.record import RecordedRun, StepMark

STEPS = [("start-all", "start"), ("#2 wait", "wait"), ("kill-m2", "kill"), ("#4 wait", "wait")]
PUB = "-----BEGIN PUBLIC KEY-----x"


def _run(backend: str, events: list[tuple[float, str, dict[str, Any]]]) -> RecordedRun:
    marks = [StepMark(i, name, kind, float(i * 10)) for i, (name, kind) in enumerate(STEPS)]
    run = RecordedRun(marks=marks, minions=("m1", "m2"), backend=backend, dialect="3008")
    for seq, (t, tag, data) in enumerate(events, 1):
        run.record(Event.from_data(tag, {**data, "_seq": seq, "_stamp": "s"}), t)
    return run


def _start(t: float, minion: str) -> list[tuple[float, str, dict[str, Any]]]:
    return [
        (t, "salt/auth", {"result": True, "act": "accept", "id": minion, "pub": PUB}),
        (t + 0.1, f"minion/refresh/{minion}", {"Minion data cache refresh": minion}),
        (t + 0.2, "minion_start", {"id": minion, "ts": 1}),
        (t + 0.3, f"salt/minion/{minion}/start", {"id": minion, "ts": 1}),
    ]


def _presence(t: float, present: list[str], new: list[str], lost: list[str]) -> list[Any]:
    return [
        (t, "salt/presence/change", {"new": new, "lost": lost}),
        (t + 0.01, "salt/presence/present", {"present": present}),
    ]


def test_timing_is_normalised_away_and_identical_behaviour_has_no_difference() -> None:
    ours = _run(
        "docker",
        [
            (0.5, "saltsim/listener/ready/x", {}),
            (1, "salt/presence/present", {"present": []}),
            *_start(2, "m1"),
            *_start(3, "m2"),
            *_presence(4, ["m1", "m2"], ["m1", "m2"], []),
            (5, "salt/presence/present", {"present": ["m1", "m2"]}),
            (21, "salt/presence/change", {"new": [], "lost": ["m2"]}),
            (21.01, "salt/presence/present", {"present": ["m1"]}),
        ],
    )
    # Real Salt: minions interleaved, presence in two ticks, unordered lists, a present
    # landing after the next step began, more unchanged ticks.
    salt = _run(
        "salt",
        [
            *_start(12, "m2")[:2],
            *_start(12.5, "m1"),
            *_start(12, "m2")[2:],
            *_presence(13, ["m1"], ["m1"], []),
            *_presence(14, ["m2", "m1"], ["m2"], []),
            (15, "salt/presence/present", {"present": ["m2", "m1"]}),
            (29.9, "salt/presence/change", {"new": [], "lost": ["m2"]}),
            (30.01, "salt/presence/present", {"present": ["m1"]}),
            (30.5, "saltsim/scenario/sync/abc", {}),  # the run's end: a straggler after it
            (31, "minion/refresh/m2", {"Minion data cache refresh": "m2"}),
        ],
    )
    result = compare(normalise(ours, STEPS), normalise(salt, STEPS))
    assert result.ok, render_text(result)
    assert "salt/presence/change new=['m1', 'm2'] lost=[]" in render_text(result)


def test_an_undeclared_difference_fails_and_a_declared_one_is_shown_with_its_reason() -> None:
    ours = _run("docker", [*_start(2, "m1")])
    reordered = _start(2, "m1")
    reordered[1], reordered[2] = reordered[2], reordered[1]
    salt = _run("salt", [*reordered, (3, "resource/refresh/m1", {"Resource cache refresh": "m1"})])
    result = compare(normalise(ours, STEPS), normalise(salt, STEPS))
    kinds = sorted(f.kind for f in result.undeclared)
    assert kinds == ["order", "sequence"], render_text(result)
    scenario = load_scenario_text(
        """\
settings: {minions: [m1]}
steps: [{start: all}]
differences:
  - {tag: "resource/refresh/*", kind: sequence, why: "3008 refreshes the resource cache"}
  - {tag: "minion*", why: "the start order is being fixed (issue 13)"}
"""
    )
    declared = compare(normalise(ours, STEPS), normalise(salt, STEPS), scenario.differences)
    assert declared.ok, render_text(declared)
    assert "declared (3008 refreshes the resource cache)" in render_text(declared)
    assert "UNDECLARED" not in render_diff_html("x", declared)
    assert "UNDECLARED" in render_diff_html("x", result)


def test_a_payload_key_or_type_on_one_side_only_is_a_payload_difference() -> None:
    ours = _run("docker", [(2, "salt/job/20261202052900123456/new", {"jid": "1", "ts": 1.5})])
    salt = _run("salt", [(2, "salt/job/20261202052901000000/new", {"jid": "2", "ts": 1, "x": 0})])
    texts = [f.text for f in compare(normalise(ours, STEPS), normalise(salt, STEPS)).undeclared]
    assert texts == [
        "salt/job/<jid>/new: key 'x' only on salt",
        "salt/job/<jid>/new: 'ts' is float on docker, int on salt",
    ]


SCENARIO = """\
settings: {minions: [m1]}
steps: [{start: all}]
expect:
  - never: salt/auth
    only: [saltsim]
    why: saltsim decides presence by identity, Salt by address
  - never: other
"""


def test_an_expectation_limited_to_saltsim_is_skipped_with_its_reason_on_real_salt() -> None:
    scenario = load_scenario_text(SCENARIO)
    run = _run("salt", [(1, "salt/auth", {"act": "accept", "id": "m1"})])
    result = check(scenario, run)
    assert result.ok
    (skipped,) = result.skipped
    assert skipped.message == (
        "skipped: holds on saltsim only, not on salt: saltsim decides presence by identity, "
        "Salt by address"
    )
    assert not check(scenario, _run("docker", [(1, "salt/auth", {"id": "m1"})])).ok


@pytest.mark.parametrize(
    ("limit", "problem"),
    [
        ("only: [saltsim]", "<scenario>:5: only: needs why:"),
        ("not_on: [real]\n    why: x", "<scenario>:5: not_on names implementations"),
        ("why: x", "<scenario>:5: why goes with only: or not_on:"),
    ],
)
def test_a_limit_without_its_reason_or_with_an_unknown_name_is_refused(
    limit: str, problem: str
) -> None:
    head = "settings: {minions: [m1]}\nsteps: [{start: all}]\nexpect:\n  - never: x\n"
    text = f"{head}    {limit}\n"
    with pytest.raises(ScenarioError, match=problem.replace("[", r"\[")):
        load_scenario_text(text)
