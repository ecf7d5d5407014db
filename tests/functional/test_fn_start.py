"""The start sequence of docs/EVENTS.md, exactly, for both dialects."""

from __future__ import annotations

import re
from typing import Any

import pytest

from saltsim.testbed.local import LocalTestbed

pytestmark = pytest.mark.functional

START_KEYS = {"id", "cmd", "pretag", "data", "tag", "ts"}


@pytest.fixture(scope="module", params=["3008", "3006"])
def testbed_options(request: pytest.FixtureRequest) -> dict[str, Any]:
    return {"dialect": request.param, "master_options": {"auto_accept": True}}


def test_start_sequence_in_order(testbed: LocalTestbed) -> None:
    dialect = testbed.dialect
    with testbed.listener() as events:
        events.subscribe("")
        testbed.add_minion("s1")
        start_event = events.wait_for("salt/minion/s1/start", 20)
        later = [*events.collect(), start_event]
        seen = sorted(
            (e for e in later if not e.tag.startswith("saltsim/")), key=lambda e: e.seq or 0
        )
    tags = [e.tag for e in seen]
    # Exactly, in this order: the minion sends each request after the previous reply, and
    # 3008's resource refresh comes from _register_resources, sent after minion_start
    # (real Salt 3008.3: never before it).
    expected = ["salt/auth", "minion/refresh/s1", "minion_start", "salt/minion/s1/start"]
    if dialect == "3008":
        expected.insert(3, "resource/refresh/s1")
    assert tags == expected
    by_tag = {e.tag: e for e in seen}
    auth = by_tag["salt/auth"]
    assert set(auth.data) == {"result", "act", "id", "pub"} and auth.data["act"] == "accept"
    assert by_tag["minion/refresh/s1"].data == {"Minion data cache refresh": "s1"}
    if dialect == "3008":
        assert by_tag["resource/refresh/s1"].data == {"Resource cache refresh": "s1"}
    legacy, start = by_tag["minion_start"].data, by_tag["salt/minion/s1/start"].data
    assert set(legacy) == START_KEYS == set(start)
    assert legacy["tag"] == "minion_start" and start["tag"] == "salt/minion/s1/start"
    assert {k: v for k, v in legacy.items() if k != "tag"} == {
        k: v for k, v in start.items() if k != "tag"
    }
    assert re.fullmatch(
        r"Minion s1 started at \w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}", start["data"]
    )
    assert start["cmd"] == "_minion_event" and start["pretag"] is None
    assert isinstance(start["ts"], int)
    stamp = auth.stamp or ""
    assert stamp.endswith("+00:00") == (dialect == "3008")
    seqs = [e.seq or 0 for e in seen]
    assert len(set(seqs)) == len(seqs) and 0 not in seqs  # every event stamped, once
