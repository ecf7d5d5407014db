"""Values a hostile minion can send (bytes map keys, ~1,000 levels of nesting, extension
types) through every printer and cache that used to raise on them (issue 12)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from saltsim_cloudsim.bodies import decode
from saltsim_cloudsim.errors import BadRequest
from saltsim_master import cache
from saltsim_master.api.subscriber import Outgoing
from saltsim_master.config import MasterConfig
from saltsim_master.jobs import JidMaker, Job, JobCache
from saltsim_master.keys import valid_id

from saltsim import safejson
from saltsim.cli.output import nested, render
from saltsim.cli.state_event import format_event
from saltsim.event import Event
from saltsim.scenario.record import RecordedRun, dumps_record, loads_record
from saltsim.targeting import TargetError, check_target, match_target


def _nested(depth: int, leaf: Any = 1) -> Any:
    value = leaf
    for _ in range(depth):
        value = {"k": value}
    return value


_keys = st.one_of(st.text(max_size=6), st.binary(max_size=6), st.integers(), st.none())
_leaves = st.one_of(
    st.none(),
    st.integers(-(2**63), 2**64 - 1),
    st.floats(),
    st.text(max_size=8),
    st.binary(max_size=8),
    st.builds(msgpack.ExtType, st.integers(0, 127), st.binary(max_size=4)),
    st.builds(msgpack.Timestamp, st.integers(0, 2**32 - 1)),
)
_values = st.recursive(
    st.one_of(_leaves, st.integers(100, 1000).map(_nested)),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(_keys, inner, max_size=3)),
    max_leaves=8,
)


# -- safejson and the printers built on it ---------------------------------------------
def test_a_bytes_key_prints_as_its_repr_and_never_merges_with_a_text_key() -> None:
    text, made_safe = safejson.dumps({b"k": 1, "k": 2})
    assert made_safe and json.loads(text) == {"b'k'": 1, "k": 2}


def test_deep_nesting_is_cut_with_a_note() -> None:
    text, made_safe = safejson.dumps(_nested(1000))
    assert made_safe and f"nested deeper than {safejson.MAX_DEPTH} levels" in text


def test_plain_values_take_the_fast_path_unchanged() -> None:
    value = {"a": [1, 2.5, None, True], "b": {"c": "d"}}
    assert safejson.dumps(value, sort_keys=True) == (json.dumps(value, sort_keys=True), False)


@settings(max_examples=100, deadline=None)
@given(_values)
def test_any_msgpack_value_becomes_valid_json(value: Any) -> None:
    text, _ = safejson.dumps({"data": value}, sort_keys=True, indent=4)
    assert isinstance(json.loads(text), dict)
    assert isinstance(nested({"m": value}), str)
    assert isinstance(render({"m": value}, "json"), str)


def test_saltsim_cmd_prints_a_return_with_a_bytes_key_and_deep_nesting() -> None:
    shown = {"web1": {b"k": 1, 2: "two"}, "web2": _nested(1000)}
    assert json.loads(render(shown, "json"))["web1"] == {"2": "two", "b'k'": 1}
    assert "b'k':" in render(shown, "nested")
    assert "nested deeper than" in render(shown, "nested")


def test_state_event_prints_a_malformed_event_in_a_safe_form() -> None:
    event = Event.from_data("intruder/x", {"data": {b"k": 1, "deep": _nested(1000)}, "_seq": 3})
    for pretty in (False, True):
        tag, _, body = format_event(event, pretty).partition("\t")
        assert tag == "intruder/x"
        assert json.loads(body)["data"]["b'k'"] == 1


def test_api_streams_send_a_malformed_event_safely_and_say_so() -> None:
    out, made_safe = Outgoing.made("intruder/x", {b"k": b"\xff", "deep": _nested(1000)})
    assert made_safe and json.loads(out.text)["data"]["b'k'"] == "\ufffd"
    assert Outgoing.made("ok/x", {"a": b"raw"}) == (
        Outgoing("ok/x", '{"data": {"a": "raw"}, "tag": "ok/x"}'),
        False,
    )


def test_a_record_keeps_a_malformed_event_and_reads_back() -> None:
    odd = {
        b"k": 1,
        "deep": _nested(1000),
        "when": dt.datetime(2026, 1, 2),
        "ts": msgpack.Timestamp(5),
    }
    run = RecordedRun(events=[Event.from_data("intruder/x", odd)], times=[1.0])
    back = loads_record(dumps_record(run))
    assert back.events[0].data[b"k"] == 1
    assert back.events[0].data["when"] == "2026-01-02 00:00:00"


# -- the caches on disk ------------------------------------------------------------------
def test_cache_holds_any_msgpack_value_and_skips_bad_files(tmp_path: Path) -> None:
    value = {b"k": 1, 2: [b"\x00"], "deep": _nested(1000)}
    assert cache.write_atomic(tmp_path / f"web1{cache.SUFFIX}", cache.pack(value))
    (tmp_path / f"empty{cache.SUFFIX}").write_bytes(b"")
    (tmp_path / f"cut{cache.SUFFIX}").write_bytes(cache.pack({"a": "b" * 100})[:20])
    (tmp_path / f"list{cache.SUFFIX}").write_bytes(msgpack.packb([1, 2]))
    loaded = cache.load_all(tmp_path)
    assert list(loaded) == ["web1"]
    assert cache.pack(loaded["web1"]) == cache.pack(value)  # == itself recurses too deep
    assert not list(tmp_path.glob("*.tmp"))  # nothing half-written left behind


def test_a_write_that_fails_is_logged_not_raised(tmp_path: Path) -> None:
    assert not cache.write_atomic(tmp_path / "gone" / f"x{cache.SUFFIX}", b"\x80")


def test_job_cache_round_trips_a_bytes_key_return(tmp_path: Path) -> None:
    jobs = JobCache(tmp_path)
    jid = JidMaker()()
    jobs.add(Job(jid, {"fun": "test.ping"}, ["web1"]))
    jobs.add_return(jid, "web1", {"return": {b"k": 1}})
    again = JobCache(tmp_path).get(jid)
    assert again is not None and again.returns == {"web1": {"return": {b"k": 1}}}


def test_job_cache_prunes_jobs_past_keep_jobs(tmp_path: Path) -> None:
    jobs = JobCache(tmp_path)
    now = dt.datetime(2026, 12, 2, 12, tzinfo=dt.UTC)
    make = JidMaker()
    old, recent = make(now - dt.timedelta(hours=25)), make(now - dt.timedelta(hours=1))
    for jid in (old, recent):
        jobs.add(Job(jid, {"fun": "test.ping"}, []))
    jobs.prune(0, now)  # 0: keep for ever
    assert jobs.jids() == [old, recent]
    jobs.prune(MasterConfig().keep_jobs_for, now)
    assert jobs.jids() == [recent] and jobs.get(old) is None
    assert [job.jid for job in jobs.read_all(jobs.snapshot())] == [recent]


@pytest.mark.parametrize(
    ("options", "seconds"),
    [
        ({}, 86400.0),
        ({"keep_jobs": 2}, 7200.0),
        ({"keep_jobs_seconds": 60}, 60.0),
        ({"keep_jobs": 2, "keep_jobs_seconds": 60}, 60.0),
        ({"keep_jobs": 0}, 0.0),
    ],
)
def test_keep_jobs_resolves_as_salt(options: dict[str, int], seconds: float) -> None:
    assert MasterConfig(**options).keep_jobs_for == seconds  # type: ignore[arg-type]


# -- ids and targets ---------------------------------------------------------------------
@pytest.mark.parametrize("minion_id", ["web1\n", "web1\r", "\nweb1", "web1\x00", "web/1", "..a"])
def test_ids_with_a_newline_or_a_separator_are_invalid(minion_id: str) -> None:
    assert not valid_id(minion_id)


def test_ordinary_ids_are_valid() -> None:
    assert all(valid_id(m) for m in ("web1", "a.b-c_d@e", "x" * 128))
    assert not valid_id("x" * 129)


@pytest.mark.parametrize(
    ("tgt", "tgt_type"),
    [("(", "pcre"), ("roles:(", "grain_pcre"), ("web* and E@(", "compound"), ("(a", "compound")],
)
def test_an_invalid_target_is_a_target_error_even_with_no_minions(tgt: str, tgt_type: str) -> None:
    with pytest.raises(TargetError):
        check_target(tgt, tgt_type)
    with pytest.raises(TargetError):
        match_target(tgt, tgt_type, "web1", {"roles": ["web"]})


def test_valid_targets_pass_the_check() -> None:
    for tgt, tgt_type in (("web*", "glob"), ("^web", "pcre"), ("roles:w.*", "grain_pcre")):
        check_target(tgt, tgt_type)
    check_target(["web1", 2], "list")


# -- cloud-sim ---------------------------------------------------------------------------
@pytest.mark.parametrize("depth", [40, 100_000])
def test_cloudsim_answers_deep_json_with_a_400(depth: int) -> None:
    with pytest.raises(BadRequest, match="nested"):
        decode(b'{"a": ' + b"[" * depth + b"]" * depth + b"}")
