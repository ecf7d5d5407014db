"""The one deadline helper: what is left, and polling against it."""

from __future__ import annotations

import pytest

from saltsim.deadline import Deadline


def test_remaining_counts_down_and_never_goes_negative() -> None:
    deadline = Deadline(0.0)
    assert deadline.remaining() == 0.0
    assert deadline.remaining_ms() == 0
    assert deadline.expired
    assert 9.0 < Deadline(10).remaining() <= 10.0


def test_poll_returns_the_first_answer_that_is_not_none_or_false() -> None:
    answers = iter([None, False, 0, "x"])
    assert Deadline(5).poll(lambda: next(answers), "something") == 0


def test_poll_names_what_it_waited_for_when_time_runs_out() -> None:
    calls: list[int] = []
    with pytest.raises(TimeoutError, match=r"the port: not within 0\.2s"):
        Deadline(0.2).poll(lambda: calls.append(1), "the port", interval=0.05)
    assert len(calls) >= 2
