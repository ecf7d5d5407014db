"""Properties of the checker, found by Hypothesis: supersequences pass, removals fail."""

from __future__ import annotations

import random

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from saltsim.event import Event
from saltsim.scenario import (
    Expectation,
    ExpectOrder,
    ExpectSequence,
    ExpectUnordered,
    Pattern,
    RecordedRun,
    Scenario,
    Settings,
    check,
)

NEED = [f"need/{i}" for i in range(6)]


def scenario_of(*expectations: Expectation) -> Scenario:
    return Scenario("prop", "", "prop.yaml", Settings(), (), expectations)


def record(tags: list[str], first_seq: int = 1, skip: int | None = None) -> RecordedRun:
    """Events with consecutive ``_seq``; with ``skip``, the event at that index is never seen."""
    run = RecordedRun()
    for index, tag in enumerate(tags):
        if index != skip:
            run.record(Event.from_data(tag, {"i": index, "_seq": first_seq + index}), float(index))
    return run


@st.composite
def supersequences(draw: st.DrawFn) -> tuple[list[str], list[str]]:
    """(needed tags in order, the stream: those tags with noise interleaved)."""
    needed = NEED[: draw(st.integers(1, len(NEED)))]
    stream: list[str] = []
    for tag in needed:
        stream += draw(st.lists(st.sampled_from(["noise/a", "noise/b", "salt/x"]), max_size=4))
        stream.append(tag)
    stream += draw(st.lists(st.sampled_from(["noise/a", "noise/b"]), max_size=4))
    return needed, stream


def patterns(tags: list[str]) -> tuple[Pattern, ...]:
    return tuple(Pattern(tag) for tag in tags)


@settings(max_examples=150, deadline=None)
@given(supersequences())
def test_order_and_sequence_pass_on_any_supersequence(case: tuple[list[str], list[str]]) -> None:
    needed, stream = case
    exps = (ExpectOrder(patterns=patterns(needed)), ExpectSequence(patterns=patterns(needed)))
    result = check(scenario_of(*exps), record(stream))
    assert result.ok, [r.message for r in result.results]
    positions = [i + 1 for i, tag in enumerate(stream) if tag in needed]
    assert result.results[0].matched_seqs == positions


@settings(max_examples=150, deadline=None)
@given(supersequences(), st.data())
def test_removing_a_matched_event_fails_order_at_that_pattern(
    case: tuple[list[str], list[str]], data: st.DataObject
) -> None:
    needed, stream = case
    k = data.draw(st.integers(0, len(needed) - 1))
    stream = [tag for tag in stream if tag != needed[k]]
    result = check(scenario_of(ExpectOrder(patterns=patterns(needed))), record(stream))
    assert not result.ok
    assert result.results[0].divergence_index == k
    assert not result.problems  # renumbered, so nothing is lost: a plain order failure


@settings(max_examples=150, deadline=None)
@given(supersequences(), st.data())
def test_an_extra_event_with_a_listed_tag_breaks_a_sequence(
    case: tuple[list[str], list[str]], data: st.DataObject
) -> None:
    needed, stream = case
    assume(len(needed) >= 3)
    j = data.draw(st.integers(0, len(needed) - 2))  # between needed[j] and needed[j + 1]
    # Not needed[j + 1] (that would still be consecutive), and not needed[0] right after
    # needed[0] (the sequence would simply start at the copy).
    k = data.draw(st.sampled_from([i for i in range(len(needed)) if i != j + 1 and i + j > 0]))
    at = stream.index(needed[j]) + 1
    stream = [*stream[:at], needed[k], *stream[at:]]
    run = record(stream)
    assert check(scenario_of(ExpectOrder(patterns=patterns(needed))), run).ok
    result = check(scenario_of(ExpectSequence(patterns=patterns(needed))), run)
    assert not result.ok


@settings(max_examples=100, deadline=None)
@given(supersequences(), st.randoms())
def test_unordered_passes_on_any_permutation(
    case: tuple[list[str], list[str]], rnd: random.Random
) -> None:
    needed, stream = case
    shuffled = list(stream)
    rnd.shuffle(shuffled)
    assert check(scenario_of(ExpectUnordered(patterns=patterns(needed))), record(shuffled)).ok


@settings(max_examples=100, deadline=None)
@given(supersequences(), st.data(), st.integers(1, 1000))
def test_a_missed_event_is_loss_never_a_wrong_order(
    case: tuple[list[str], list[str]], data: st.DataObject, first_seq: int
) -> None:
    needed, stream = case
    if len(stream) < 3:
        return
    skip = data.draw(st.integers(1, len(stream) - 2))  # not the first or last: a visible gap
    run = record(stream, first_seq=first_seq, skip=skip)
    result = check(scenario_of(ExpectOrder(patterns=patterns(needed))), run)
    assert not result.ok
    assert result.lost == 1
    assert result.problems == (f"lost events: 1 (gaps after seq {first_seq + skip - 1})",)
