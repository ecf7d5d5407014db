"""``Recorder.wait_for`` matches a tag as ``EventClient.wait_for`` and Salt's ``get_event``
do: by prefix, or by the ``match_type`` given (#16 item 7)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from saltsim.bus import EventBus
from saltsim.errors import EventTimeoutError
from saltsim.recorder import Recorder


@pytest.fixture
def rec(event_bus: EventBus) -> Iterator[Recorder]:
    with Recorder(event_bus.pub_address, event_bus.pull_address) as recorder:
        assert recorder.fire("salt/job/20261202/ret/web1", {"n": 1})
        yield recorder


def test_a_tag_matches_by_prefix_as_get_event(rec: Recorder) -> None:
    assert rec.wait_for("salt/job/20261202/ret/", 10).data == {"n": 1}
    assert rec.wait_for("salt/job/", 10).tag == "salt/job/20261202/ret/web1"


def test_match_type_chooses_the_matcher(rec: Recorder) -> None:
    assert rec.wait_for("/ret/web1", 10, match_type="endswith").data == {"n": 1}
    assert rec.wait_for("salt/job/*/ret/web1", 10, match_type="fnmatch").data == {"n": 1}
    assert rec.wait_for(r"salt/job/\d+/ret/web1$", 10, match_type="regex").data == {"n": 1}
    with pytest.raises(EventTimeoutError, match="regex"):
        rec.wait_for(r"salt/job/\d+/ret/web$", 0.2, match_type="regex")


def test_bad_match_type_and_match_type_with_a_predicate_are_refused(rec: Recorder) -> None:
    with pytest.raises(ValueError, match="unknown match_type"):
        rec.wait_for("salt/job/", 1, match_type="glob")
    with pytest.raises(ValueError, match="applies to a tag"):
        rec.wait_for(lambda e: True, 1, match_type="startswith")


def test_the_timeout_names_the_tag_and_how_it_matched(rec: Recorder) -> None:
    with pytest.raises(EventTimeoutError, match="'salt/job/2026/ret/web2' \\(startswith\\)"):
        rec.wait_for("salt/job/2026/ret/web2", 0.2)
