"""The checker: every expectation kind passing and failing, captures, dialects, loss, epochs."""

from __future__ import annotations

from typing import Any

from test_scenario_support import PRESENCE, FakeBus, ev, presence_run, run_of, scenario

from saltsim.scenario import CheckResult, RecordedRun, check, load_scenario

JID, JID2 = "20261123234804419827", "20261123234804500000"


def verdicts(result: CheckResult) -> list[str]:
    return [r.status for r in result.results]


def job_events(jid: str, *minions: str) -> list[tuple[str, dict[str, Any]]]:
    new: dict[str, Any] = {"jid": jid, "fun": "test.ping", "minions": list(minions)}
    events: list[tuple[str, dict[str, Any]]] = [(f"salt/job/{jid}/new", new)]
    events += [(f"salt/job/{jid}/ret/{m}", {"id": m, "jid": jid, "return": True}) for m in minions]
    return events


def test_presence_scenario_passes_on_the_run_it_describes_in_both_dialects() -> None:
    for dialect in ("3008", "3006"):
        sc = load_scenario(PRESENCE).with_overrides(dialect=dialect)
        result = check(sc, presence_run(dialect))
        assert result.ok, [r.message for r in result.failed]
        assert len(result.skipped) == 2  # the other dialect's golden expectations


def test_order_passes_with_events_between_and_fails_at_the_first_missing_pattern() -> None:
    run = run_of(("a", {}), ("x", {}), ("b", {"n": 1}), ("c", {}), ("b", {"n": 2}))
    good = check(scenario("  - order: [a, {tag: b, data: {n: 1}}, c]"), run)
    assert good.ok
    assert good.results[0].matched_seqs == [1, 3, 4]
    bad = check(scenario("  - order: [a, c, {tag: b, data: {n: 1}}, c]"), run)
    result = bad.results[0]
    assert not bad.ok and not result.ok
    assert result.divergence_index == 2
    assert result.matched_seqs == [1, 4]
    assert result.message == (
        "pattern 3 of 4 never matched after seq 4 (pattern 2's match): b {n: 1}; "
        "it matched earlier, at seq 3; nearest: seq 5: data.n: expected 1, got 2"
    )
    assert result.focus == 4  # bus-order position of seq 5, the near miss


def test_order_on_an_empty_run_fails_at_the_first_pattern() -> None:
    result = check(scenario("  - order: [a]"), RecordedRun()).results[0]
    assert not result.ok
    assert result.divergence_index == 0
    assert result.message == "pattern 1 of 1 never matched anywhere: a"


def test_sequence_is_consecutive_among_events_with_its_tags() -> None:
    events: list[tuple[str, dict[str, Any]]] = [(t, {}) for t in ["a", "other", "b", "a", "c", "b"]]
    run = run_of(*events)
    # a, b are consecutive once the stream is cut to tags a and b ("other" is ignored).
    result = check(scenario("  - sequence: [a, b]"), run).results[0]
    assert result.ok and result.matched_seqs == [1, 3]
    # a, b, a, b: consecutive among a/b events, c does not count.
    assert check(scenario("  - sequence: [a, b, a, b]"), run).ok
    # With c in the list it is part of the filtered stream: a, c, b.
    assert check(scenario("  - sequence: [a, c, b]"), run).ok
    bad = check(scenario("  - sequence: [a, b, b]"), run).results[0]
    assert not bad.ok
    assert bad.divergence_index == 2
    assert bad.message == "after patterns 1-2 (from seq 1) came seq 4 a, not pattern 3: b"
    assert bad.focus == 3
    data = check(scenario("  - sequence: [a, {tag: b, data: {n: 1}}]"), run).results[0]
    assert data.message == (
        "after patterns 1-1 (from seq 1) came seq 3 b, not pattern 2: b {n: 1} (data.n: missing)"
    )


def test_sequence_captures_narrow_the_filter() -> None:
    # Two jobs interleaved: job 1's new, job 2's new, then the returns.
    run = run_of(
        *job_events(JID, "m1")[:1],
        *job_events(JID2, "m1")[:1],
        *job_events(JID, "m1")[1:],
        *job_events(JID2, "m1")[1:],
    )
    expect = (
        '  - sequence: [{tag: "salt/job/*/new", capture: {jid: jid}}, "salt/job/${jid}/ret/m1"]'
    )
    result = check(scenario(expect), run)
    # From job 1's new the next kept event is job 2's new (it matches pattern 1's tag); from
    # job 2's new, job 1's return is filtered out by the captured jid.
    assert result.ok
    assert result.results[0].matched_seqs == [2, 4]
    assert result.captures == {"jid": JID2}


def test_sequence_reports_the_stream_ending() -> None:
    result = check(scenario("  - sequence: [a, b]"), run_of(("b", {}), ("a", {}))).results[0]
    assert result.message == (
        "patterns 1-1 matched from seq 2, then the stream ended before pattern 2: b"
    )
    assert result.divergence_index == 1 and result.focus is None


def test_unordered_needs_a_distinct_event_per_pattern() -> None:
    run = run_of(("b", {"n": 1}), ("a", {}), ("b", {"n": 2}))
    assert check(scenario("  - unordered: [a, b, b]"), run).ok
    assert check(scenario("  - unordered: [b, {tag: b, data: {n: 1}}]"), run).ok  # needs matching
    bad = check(scenario("  - unordered: [a, b, b, b]"), run).results[0]
    assert not bad.ok and bad.divergence_index == 3
    assert bad.message == "pattern 4 of 4 matches only events that patterns 2, 3 need (seq 1, 3)"
    missing = check(scenario("  - unordered: [a, c]"), run).results[0]
    assert missing.message == "pattern 2 of 2 matched no event: c"


def test_count_bounds() -> None:
    run = run_of(("a", {}), ("a", {}), ("b", {}), ("a", {}))
    assert check(scenario("  - count: {pattern: a, exactly: 3}"), run).ok
    assert check(scenario("  - count: {pattern: a, min: 1}"), run).ok
    assert check(scenario("  - count: {pattern: a, max: 3}"), run).ok
    assert check(scenario("  - count: {pattern: c, max: 0}"), run).ok
    too_many = check(scenario("  - count: {pattern: a, min: 1, max: 2}"), run).results[0]
    assert not too_many.ok
    assert too_many.message == ("3 events in the run match a; expected at least 1 and at most 2")
    assert too_many.matched_seqs == [1, 2, 4]
    assert too_many.focus == 3  # the third one, past the maximum
    too_few = check(scenario("  - count: {pattern: b, min: 2}"), run).results[0]
    assert too_few.message == "1 event in the run matches b; expected at least 2"


def test_never_and_its_window_between_steps() -> None:
    bus = FakeBus()
    bus.fire("salt/presence/change", {"new": ["m1"], "lost": []})
    bus.step(0, "kill", "kill-m1")
    bus.fire("salt/presence/change", {"new": [], "lost": ["m1"]})
    bus.step(1, "start", "start-m1")
    bus.fire("salt/presence/change", {"new": ["m1"], "lost": []})
    bus.step(2, "ticks", "end")
    steps = (
        "- {kill: m1, name: kill-m1}\n  - {start: m1, name: start-m1}\n  - {ticks: 1, name: end}"
    )
    new = "{tag: salt/presence/change, data: {new: [m1]}}"
    run = bus.run
    assert check(
        scenario(f"  - never: {new}\n    between: [kill-m1, start-m1]", steps=steps), run
    ).ok
    whole = check(scenario(f"  - never: {new}", steps=steps), run).results[0]
    assert not whole.ok
    assert whole.message == (
        "2 events in the run match salt/presence/change {new: [m1]}, expected none (seq 2, 4)"
    )
    late = check(scenario(f"  - never: {new}\n    between: [start-m1, end]", steps=steps), run)
    assert late.results[0].matched_seqs == [4]
    assert "between steps 'start-m1' and 'end'" in late.results[0].message
    count = f"  - count: {{pattern: {new}, exactly: 1}}\n    between: [start-m1, end]"
    assert check(scenario(count, steps=steps), run).ok


def test_a_window_from_a_step_that_never_ran_fails() -> None:
    steps = "- {kill: m1, name: kill-m1}\n  - {start: m1, name: start-m1}"
    run = run_of(("a", {}))
    result = check(scenario("  - never: a\n    between: [kill-m1, start-m1]", steps=steps), run)
    assert result.results[0].message == (
        "step 'kill-m1' was never reached (no step mark), so its window is unknown"
    )


def test_within_measures_from_the_step_start_on_the_recorders_clock() -> None:
    bus = FakeBus()
    bus.fire("salt/presence/change", {"new": [], "lost": ["m2"]})  # before the step: ignored
    bus.step(0, "kill", "kill-m2")
    bus.fire("x", dt=1.0)
    bus.fire("salt/presence/change", {"new": [], "lost": ["m2"]}, dt=3.0)
    steps = "- {kill: m2, name: kill-m2}"
    lost = "{tag: salt/presence/change, data: {lost: [m2]}}"
    ok = check(
        scenario(f"  - within: {{after: kill-m2, seconds: 5, pattern: {lost}}}", steps=steps),
        bus.run,
    )
    assert ok.ok
    assert ok.results[0].matched_seqs == [4]
    assert ok.results[0].message == "seq 4 matched 4.00s after step 'kill-m2' began (limit 5s)"
    late = check(
        scenario(f"  - within: {{after: kill-m2, seconds: 2, pattern: {lost}}}", steps=steps),
        bus.run,
    )
    assert not late.ok
    assert late.results[0].focus == 3
    never = check(
        scenario("  - within: {after: kill-m2, seconds: 2, pattern: nope}", steps=steps), bus.run
    )
    assert never.results[0].message == "no event after step 'kill-m2' matches nope"
    unmarked = check(
        scenario("  - within: {after: kill-m2, seconds: 2, pattern: x}", steps=steps), run_of()
    )
    assert unmarked.results[0].message == "step 'kill-m2' was never reached (no step mark)"


def test_captures_flow_from_one_expectation_to_the_next() -> None:
    run = run_of(*job_events(JID, "m1", "m2"))
    expect = (
        '  - order: [{tag: "salt/job/*/new", data: {fun: test.ping}, capture: {jid: jid, '
        "who: minions}}]\n"
        '  - unordered: ["salt/job/${jid}/ret/m1", '
        '{tag: "salt/job/*/ret/m2", data: {jid: "${jid}"}}]\n'
        '  - count: {pattern: "salt/job/${jid}/ret/*", exactly: 2}\n'
        '  - never: {tag: "salt/job/*/new", data: {minions: "${who}"}, match: fnmatch}\n'
    )
    result = check(scenario(expect), run)
    assert verdicts(result) == ["pass", "pass", "pass", "FAIL"]  # the last matches the job itself
    assert result.captures == {"jid": JID, "who": ["m1", "m2"]}
    assert result.results[1].captures["jid"] == JID


def test_a_capture_whose_pattern_failed_fails_the_expectations_that_use_it() -> None:
    run = run_of(*job_events(JID, "m1"))
    expect = (
        '  - order: [{tag: "salt/job/*/new", data: {fun: nope}, capture: {jid: jid}}]\n'
        '  - order: ["salt/job/${jid}/ret/m1"]\n'
    )
    result = check(scenario(expect), run)
    assert verdicts(result) == ["FAIL", "FAIL"]
    assert result.results[1].message == (
        "pattern 1 needs ${jid}, which is not set: the pattern at line 6 that captures it "
        "did not match"
    )


def test_each_minion_judges_each_minions_events_alone() -> None:
    bus = FakeBus()
    for minion in ("m1", "m2", "m3"):
        bus.sign_in(minion)
    bus.tick(["m1", "m2", "m3"])
    bus.tick(["m1", "m3"])
    order = (
        '  - each_minion:\n      order: [{tag: salt/auth, data: {id: "${minion}"}}, '
        '"salt/minion/${minion}/start", {tag: salt/presence/present, data: {present: "<any>"}}]'
    )
    assert check(scenario(order), bus.run).ok  # present lists concern every minion listed
    never = '  - each_minion: {never: {tag: salt/presence/change, data: {lost: ["${minion}"]}}}'
    result = check(scenario(never), bus.run).results[0]
    assert not result.ok
    assert result.minion == "m2"
    assert result.message.startswith(
        "never fails for 1 of 3 minions: m2: 1 event in the run matches"
    )
    lost = "  - each_minion: {order: [{tag: salt/presence/present, data: {present: [m1, m3]}}]}"
    result = check(scenario(lost), bus.run).results[0]
    assert result.message.startswith("order fails for 1 of 3 minions: m2: pattern 1 of 1 never")
    assert result.minion == "m2"


def test_expectations_for_another_dialect_are_skipped_and_reported() -> None:
    run = run_of(("a", {}), dialect="3006")
    expect = '  - dialect: "3008"\n    order: [nope]\n  - dialect: "3006"\n    order: [a]'
    result = check(scenario(expect), run)
    assert result.ok
    assert verdicts(result) == ["skipped", "pass"]
    assert result.results[0].message == "skipped: written for dialect 3008, the run is 3006"
    assert result.skipped == (result.results[0],)


def test_lost_events_fail_the_run_as_loss_not_as_order() -> None:
    bus = FakeBus()
    bus.fire("a")
    bus.lose(2)
    bus.fire("b")
    bus.fire("c")
    bus.lose(1)
    bus.fire("d")
    result = check(scenario("  - order: [a, b, c, d]"), bus.run)
    assert not result.ok
    assert result.results[0].ok  # the order itself holds
    assert result.lost == 3
    assert result.problems == ("lost events: 3 (gaps after seq 2 (2 missing), after seq 6)",)


def test_loss_counted_only_by_the_listener_still_fails() -> None:
    run = run_of(("a", {}), lost=4)
    result = check(scenario("  - order: [a]"), run)
    assert not result.ok
    assert result.problems == (
        "lost events: 4 (counted by the listener, no gap among the recorded events)",
    )


def test_a_bus_restart_starts_a_new_epoch() -> None:
    bus = FakeBus()
    bus.fire("a")
    bus.fire("b")
    bus.restart()  # saltsim/bus/start as _seq 1 again
    bus.fire("c")
    result = check(scenario("  - order: [a, b, c]\n  - sequence: [b, c]"), bus.run)
    assert result.ok, result.problems
    assert result.results[0].matched_seqs == [2, 3, 2]
    # Ordered by (epoch, _seq): c (epoch 1, seq 2) is after b (epoch 0, seq 3).
    assert not check(scenario("  - order: [c, b]"), bus.run).ok


def test_a_restart_the_listener_did_not_see_announced_is_still_an_epoch() -> None:
    run = run_of(ev("a", 5), ev("b", 6), ev("c", 1), ev("d", 2))
    result = check(scenario("  - order: [a, b, c, d]"), run)
    assert result.ok


def test_a_restarted_bus_whose_first_events_were_missed_is_loss() -> None:
    run = run_of(ev("a", 5), ev("b", 6), ev("c", 3))
    result = check(scenario("  - order: [a]"), run)
    assert result.problems == ("lost events: 2 (gaps at the start of bus restart 1 (2 missing))",)


def test_order_is_by_seq_not_by_clock() -> None:
    run = run_of(ev("a", 1), ev("b", 2), ev("c", 3))
    run.times[:] = [30.0, 20.0, 10.0]  # a clock that went backwards changes nothing
    assert check(scenario("  - sequence: [a, b, c]"), run).ok
    assert not check(scenario("  - order: [c, a]"), run).ok
