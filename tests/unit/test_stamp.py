"""``_stamp`` strings: 3008 ``...419827+00:00``, 3006 naive ``...419827`` (docs/EVENTS.md)."""

from __future__ import annotations

import datetime as dt
import re
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from saltsim.stamp import DIALECTS, Stamper

STAMP_3008 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$")
STAMP_3006 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$")

# From the epoch to the last second of year 9999.
_nows = st.floats(min_value=0.0, max_value=253_402_300_799.0, allow_nan=False)


def reference(now: float, dialect: str) -> str:
    """``now`` formatted by ``datetime``, truncated to the microsecond as the bus does.

    ``datetime.fromtimestamp`` rounds to the nearest microsecond instead; that
    differs by at most 1 µs and is checked separately.
    """
    second = int(now)
    micros = int((now - second) * 1_000_000)
    when = dt.datetime.fromtimestamp(second, dt.UTC).replace(microsecond=micros)
    if dialect == "3006":
        when = when.replace(tzinfo=None)
    return when.isoformat(timespec="microseconds")


def test_default_dialect_is_3008() -> None:
    assert STAMP_3008.match(Stamper()())
    assert DIALECTS == ("3008", "3006")


def test_3008_stamp_has_utc_offset() -> None:
    assert STAMP_3008.match(Stamper("3008")())


def test_3006_stamp_is_naive() -> None:
    stamp = Stamper("3006")()
    assert STAMP_3006.match(stamp)
    assert not STAMP_3008.match(stamp)


def test_documented_example() -> None:
    now = dt.datetime(2026, 11, 23, 23, 48, 4, tzinfo=dt.UTC).timestamp() + 0.4198275
    assert Stamper("3008")(now) == "2026-11-23T23:48:04.419827+00:00"
    assert Stamper("3006")(now) == "2026-11-23T23:48:04.419827"


@pytest.mark.parametrize("dialect", DIALECTS)
def test_stamp_without_argument_is_the_current_time(dialect: str) -> None:
    stamper = Stamper(dialect)
    before = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    stamp = dt.datetime.fromisoformat(stamper())
    after = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    if dialect == "3008":
        assert stamp.utcoffset() == dt.timedelta(0)
        stamp = stamp.replace(tzinfo=None)
    else:
        assert stamp.tzinfo is None
    # The stamp truncates to the microsecond; allow the one it may lose.
    assert before - dt.timedelta(microseconds=1) <= stamp <= after


@settings(max_examples=200)
@given(now=_nows, dialect=st.sampled_from(DIALECTS))
def test_stamp_equals_datetime_formatting(now: float, dialect: str) -> None:
    stamp = Stamper(dialect)(now)
    assert stamp == reference(now, dialect)
    assert (STAMP_3008 if dialect == "3008" else STAMP_3006).match(stamp)


@given(now=st.floats(min_value=0.0, max_value=2.0**33))
def test_stamp_is_within_a_microsecond_of_fromtimestamp(now: float) -> None:
    parsed = dt.datetime.fromisoformat(Stamper("3008")(now))
    exact = dt.datetime.fromtimestamp(now, dt.UTC)
    assert abs(parsed - exact) <= dt.timedelta(microseconds=1)


@given(nows=st.lists(_nows, min_size=2, max_size=20), dialect=st.sampled_from(DIALECTS))
def test_one_stamper_stays_right_across_seconds(nows: list[float], dialect: str) -> None:
    # The seconds prefix is cached; going back and forth in time must not reuse a stale one.
    stamper = Stamper(dialect)
    for now in [*nows, *reversed(nows)]:
        assert stamper(now) == reference(now, dialect)


def test_same_second_different_micros_share_prefix() -> None:
    stamper = Stamper("3008")
    second = float(int(time.time()))
    first, second_stamp = stamper(second + 0.25), stamper(second + 0.75)
    assert first[:19] == second_stamp[:19]
    assert first[20:26] == "250000"
    assert second_stamp[20:26] == "750000"


@pytest.mark.parametrize("dialect", ["3007", "", "2019.2", "3008 ", 3008])
def test_unknown_dialect_raises_value_error(dialect: str) -> None:
    with pytest.raises(ValueError, match="unknown dialect"):
        Stamper(dialect)
