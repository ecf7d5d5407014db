"""Failure reports, JSONL run records and the HTML timeline."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from test_scenario_support import PRESENCE, FakeBus, presence_run, run_of, scenario
from unit_strategies import payloads, tags, typed

from saltsim.event import Event
from saltsim.scenario import (
    RecordedRun,
    ScenarioError,
    StepMark,
    check,
    dumps_record,
    load_scenario,
    loads_record,
    read_record,
    render_failure,
    render_summary,
    render_timeline,
    write_record,
    write_timeline,
)


def failed_presence() -> tuple[RecordedRun, str]:
    run = presence_run(kill_lost=False)  # m2 is never reported lost
    return run, render_failure(check(load_scenario(PRESENCE), run), run)


def test_failure_shows_expected_patterns_beside_the_recorded_window() -> None:
    _, text = failed_presence()
    lines = text.splitlines()
    assert lines[0] == (
        "scenario fake: FAILED, dialect 3008, 28 events, 0 bus restarts; 3 of 13 expectations "
        "failed, 2 skipped"
    )
    assert "FAIL order (line 54): pattern 2 of 5 never matched after seq 20" in text
    assert "  >>>  2  salt/presence/change {new: [], lost: [m2]}  <- first divergence" in lines
    assert "       1  salt/presence/present {present: [m1, m2, m3]}  seq 20" in lines
    assert (
        "  <<< first divergence: expected salt/presence/change {new: [], lost: [m2]}, "
        "got salt/presence/present {present: [m1, m2, m3]}"
    ) in lines
    assert any(line.startswith("  ---- step 3 kill kill-m2 began") for line in lines)
    assert any(re.match(r"  ok\s+20 ", line) for line in lines)  # the match before the miss
    assert text.endswith(
        "skipped never (line 77, dialect 3006): skipped: written for dialect 3006, the run is 3008"
    )


def test_failure_shows_a_window_not_the_whole_run() -> None:
    bus = FakeBus()
    for n in range(2000):
        bus.fire("noise", {"n": n}, dt=0.001)
    bus.fire("b")
    run = bus.run
    text = render_failure(check(scenario("  - order: [b, c]"), run), run, width=120)
    assert len(text.splitlines()) < 30
    assert "first divergence: expected c, got nothing more" in text
    assert max(len(line) for line in text.splitlines()) <= 140


def test_loss_is_reported_first() -> None:
    bus = FakeBus()
    bus.fire("a")
    bus.lose(3)
    bus.fire("b")
    run = bus.run
    lines = render_failure(check(scenario("  - order: [b, a]"), run), run).splitlines()
    assert lines[1] == (
        "!! lost events: 3 (gaps after seq 2 (3 missing)); ordering verdicts below may follow "
        "from it"
    )
    assert lines[3].startswith("FAIL order (line 6)")


def test_each_minion_failure_shows_that_minions_events() -> None:
    bus = FakeBus()
    bus.sign_in("m1")
    bus.sign_in("m2")
    run = bus.run
    text = render_failure(
        check(scenario('  - each_minion: {order: ["salt/minion/${minion}/start"]}'), run), run
    )
    assert "FAIL each_minion order (line 6): order fails for 1 of 3 minions: m3:" in text
    assert "expected (for minion m3)" in text
    assert "salt/minion/m3/start" in text


def test_sequence_failure_shows_its_patterns_with_the_captures_of_the_attempt() -> None:
    bus = FakeBus()
    bus.job("20261123234804419827", ["m1", "m2"])
    run = bus.run
    expect = (
        '  - sequence: [{tag: "salt/job/*/new", capture: {jid: jid}}, '
        '"salt/job/${jid}/ret/m2", "salt/job/${jid}/ret/m1"]'
    )
    text = render_failure(check(scenario(expect), run), run)
    assert "  >>>  2  salt/job/20261123234804419827/ret/m2  <- first divergence" in text
    assert (
        "  <<< first divergence: expected salt/job/20261123234804419827/ret/m2, "
        "got salt/job/20261123234804419827/ret/m1 {"
    ) in text


def test_a_pattern_matching_nothing_anywhere_says_so() -> None:
    run = run_of(("a", {}))
    text = render_failure(check(scenario("  - unordered: [a, b]"), run), run)
    assert text.endswith("  <<< first divergence: expected b, got no such event in the run")


def test_summary_has_a_line_per_expectation() -> None:
    run = run_of(("a", {}))
    summary = render_summary(check(scenario("  - order: [a]\n  - never: a"), run))
    assert summary.splitlines() == [
        "pass    order (line 6): 1 pattern matched in order (seq 1)",
        "FAIL    never (line 7): 1 event in the run matches a, expected none (seq 1)",
    ]


def test_record_round_trips_through_jsonl(tmp_path: Path) -> None:
    run = presence_run()
    run.lost, run.restarts, run.started = 2, 1, 1764000000.5
    run.record(Event.from_data("odd", {"b": b"\x00\xff", 3: "int key", "$map": 1}), 2000.0)
    path = tmp_path / "run.jsonl"
    write_record(path, run)
    lines = path.read_text().splitlines()
    header, summary = json.loads(lines[0]), json.loads(lines[-1])
    assert header["record"] == "saltsim-run/1" and header["minions"] == ["m1", "m2", "m3"]
    assert header["marks"][0] == {
        "index": 0,
        "name": "start-all",
        "kind": "start",
        "started_at": 1000.06,
        "first_seq": 1,
    }
    assert summary == {"summary": {"events": len(run.events), "lost": 2, "restarts": 1}}
    assert set(json.loads(lines[1])) == {"tag", "data", "t"}
    again = read_record(path)
    assert again == run
    assert (
        check(load_scenario(PRESENCE), again).results == check(load_scenario(PRESENCE), run).results
    )


@settings(max_examples=50, deadline=None)
@given(tag=tags, payload=payloads)
def test_any_event_survives_a_record(tag: str, payload: dict[object, object]) -> None:
    run = RecordedRun()
    run.record(Event.from_data(tag, payload), 1.5)
    again = loads_record(dumps_record(run))
    assert again.events[0].tag == tag
    assert typed(again.events[0].full) == typed(payload)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "r.jsonl:1: empty run record: no header"),
        (
            "{}\n",
            'r.jsonl:1: not a saltsim run record: line 1 must be a header with "record": '
            '"saltsim-run/1"',
        ),
        (
            '{"record": "saltsim-run/1", "dialect": "3008"}\n'
            '{"tag": "a", "data": {}, "t": 1}\n{oops\n',
            "r.jsonl:3: not JSON: Expecting property name enclosed in double quotes at column 2",
        ),
        (
            '{"record": "saltsim-run/1", "dialect": "3008"}\n{"tag": "a", "data": [], "t": 1}\n',
            'r.jsonl:2: an event line needs "tag" (string), "data" (object) and "t" (number)',
        ),
        (
            '{"record": "saltsim-run/1", "dialect": "3008"}\n{"summary": {}}\n{"tag": "a"}\n',
            "r.jsonl:3: nothing may follow the summary (line 2)",
        ),
        ('{"record": "saltsim-run/1"}\n', "r.jsonl:1: bad record header: 'dialect'"),
        (
            '{"record": "saltsim-run/1", "dialect": "3008", "marks": [{"index": 0}]}\n',
            "r.jsonl:1: bad record header: StepMark.__init__() missing 3 required positional "
            "arguments: 'name', 'kind', and 'started_at'",
        ),
        (
            '{"record": "saltsim-run/1", "dialect": "3008"}\n{"summary": {"lost": "x"}}\n',
            "r.jsonl:2: the summary's lost and restarts must be whole numbers",
        ),
    ],
)
def test_malformed_records_name_the_line(text: str, message: str) -> None:
    with pytest.raises(ScenarioError) as info:
        loads_record(text, "r.jsonl")
    assert str(info.value) == message


def test_a_record_cut_short_reads_without_its_summary() -> None:
    text = dumps_record(run_of(("a", {}), ("b", {})))
    run = loads_record("\n".join(text.splitlines()[:-1]))
    assert [e.tag for e in run.events] == ["a", "b"]
    assert run.lost == 0


def test_timeline_is_one_self_contained_escaped_page(tmp_path: Path) -> None:
    bus = FakeBus()
    bus.step(0, "start", "start-all")
    bus.sign_in("m1")
    bus.fire("my/<script>alert(1)</script>", {"x": "<script>alert(2)</script>", "id": "m2"})
    bus.step(1, "kill", "<b>kill</b>")
    run = bus.run
    sc = scenario('  - never: {tag: "my/*", data: {x: "<script>*"}}')
    result = check(sc, run)
    path = tmp_path / "timeline.html"
    write_timeline(path, sc, run, result)
    page = path.read_text()
    assert page.startswith("<!doctype html>")
    assert "<script" not in page  # every <script> from the run is escaped
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;b&gt;kill&lt;/b&gt;" in page
    for lane in ("master", "m1", "m2", "m3"):
        assert f'class="lane">{lane}</text>' in page
    assert 'class="FAIL">FAIL</td>' in page
    assert "http" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")  # no assets
    assert page.count("<circle") >= len(run.events)
    assert page.count('class="step"') == 2
    assert render_timeline(sc, run, result) == page


def test_step_marks_keep_the_last_seq_before_them() -> None:
    run = run_of(("a", {}), ("b", {}))
    mark = run.mark(0, "x", "kill", 101.0)
    assert mark == StepMark(0, "x", "kill", 101.0, 2)
    assert RecordedRun().mark(0, None, "start", 0.0).first_seq is None
