"""cloud-sim's injected faults: counts, seeded rates, several at once."""

from __future__ import annotations

import random

import pytest
from saltsim_cloudsim.faults import CREATE_KINDS, DEPLOY_KINDS, KINDS, Fault, FaultBook


def test_a_count_strikes_the_next_n_creates_only() -> None:
    book = FaultBook()
    fault = book.add("quota", count=2)
    assert [book.draw() for _ in range(4)] == ["quota", "quota", None, None]
    assert fault.view() == {
        "id": "f-1",
        "kind": "quota",
        "count": 2,
        "remaining": 0,
        "rate": None,
        "seed": None,
        "struck": 2,
    }


def test_a_seeded_rate_is_reproducible_and_follows_random() -> None:
    expected = [r.random() < 0.3 for r in [random.Random(7)] for _ in range(50)]
    for _ in range(2):
        book = FaultBook()
        book.add("create_error", rate=0.3, seed=7)
        assert [book.draw() == "create_error" for _ in range(50)] == expected
    assert 5 < sum(expected) < 25


@pytest.mark.parametrize(("rate", "hits"), [(0.0, 0), (1.0, 20)])
def test_rate_bounds(rate: float, hits: int) -> None:
    book = FaultBook()
    book.add("stuck_pending", rate=rate, seed=1)
    assert sum(book.draw() is not None for _ in range(20)) == hits


def test_every_fault_draws_and_the_first_added_decides() -> None:
    book = FaultBook()
    book.add("lost_during_boot", count=1)
    seeded = book.add("create_error", rate=0.5, seed=3)
    alone = FaultBook()
    alone.add("create_error", rate=0.5, seed=3)
    draws = [book.draw() for _ in range(30)]
    alone_draws = [alone.draw() for _ in range(30)]
    assert draws[0] == "lost_during_boot"
    # the seeded fault advanced on the first create too, so it matches a book of its own
    assert draws[1:] == alone_draws[1:]
    assert seeded.struck == sum(d == "create_error" for d in alone_draws)


def test_clear_and_views() -> None:
    book = FaultBook()
    book.add("quota", count=1)
    book.add("create_error", rate=0.1, seed=None)
    assert [v["id"] for v in book.views()] == ["f-1", "f-2"]
    assert book.clear() == 2 and len(book) == 0 and book.draw() is None
    assert book.add("quota", count=1).id == "f-3"  # ids are never reused


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"kind": "meteor", "count": 1}, "unknown fault kind"),
        ({"kind": "quota"}, "either a count or a rate"),
        ({"kind": "quota", "count": 1, "rate": 0.5}, "either a count or a rate"),
        ({"kind": "quota", "count": -1}, "negative"),
        ({"kind": "quota", "rate": 1.5}, "within 0..1"),
    ],
)
def test_bad_faults_are_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Fault("f-1", **kwargs)  # type: ignore[arg-type]


def test_the_kinds_are_the_contracts() -> None:
    assert CREATE_KINDS == ("quota", "create_error", "stuck_pending", "lost_during_boot")
    assert DEPLOY_KINDS == ("deploy_error",)  # cloud-sim's addition, drawn on deploys
    assert KINDS == CREATE_KINDS + DEPLOY_KINDS


def test_a_deploy_fault_does_not_strike_creates_and_a_create_fault_not_deploys() -> None:
    book = FaultBook()
    book.add("deploy_error", count=1)
    book.add("quota", count=1)
    assert book.draw("deploy") == "deploy_error"
    assert book.draw("deploy") is None  # used up; the quota fault never drew on a deploy
    assert book.draw("create") == "quota"
