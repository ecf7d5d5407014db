"""The timeline's layout arithmetic: rows of marks, rows and anchors of step labels, time
ticks, the palette. The layout is computed for the narrowest plot and must hold on every
wider one (the browser stretches the chart), so the properties check it at wider plots."""

from __future__ import annotations

import itertools
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from saltsim.scenario.timeline import (
    FAMILY_COLOURS,
    LabelSpot,
    pack_rows,
    place_labels,
    text_width,
    time_ticks,
)

fractions = st.floats(0, 1, allow_nan=False)
widen = st.floats(1, 4, allow_nan=False)


def test_marks_at_one_instant_go_to_rows_in_order() -> None:
    assert pack_rows([50.0] * 4, 14) == [(0, 0.0), (1, 0.0), (2, 0.0), (3, 0.0)]
    assert pack_rows([10.0, 24.0, 38.0], 14) == [(0, 0.0)] * 3  # apart enough: one row
    assert pack_rows([30.0, 10.0, 20.0], 14) == [(0, 0.0), (0, 0.0), (1, 0.0)]


def test_a_burst_past_the_rows_becomes_a_compact_block() -> None:
    placed = pack_rows([100.0] * 9, 14, rows=3, shift=28)
    assert placed == [
        (0, 0.0), (1, 0.0), (2, 0.0),
        (0, 14.0), (1, 14.0), (2, 14.0),
        (0, 28.0), (1, 28.0), (2, 28.0),
    ]  # fmt: skip
    # more than the block holds: new rows, not marks pushed far from their time
    assert pack_rows([100.0] * 4, 14, rows=1, shift=14) == [
        (0, 0.0), (0, 14.0), (1, 0.0), (1, 14.0)
    ]  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(st.lists(fractions, max_size=60), widen)
def test_marks_in_a_row_stay_apart_on_any_wider_plot(fs: list[float], k: float) -> None:
    plot, pitch, shift = 900.0, 14.0, 42.0
    placed = pack_rows([f * plot for f in fs], pitch, rows=4, shift=shift)
    for row in {row for row, _ in placed}:
        drawn = sorted(
            f * plot * k + moved for f, (r, moved) in zip(fs, placed, strict=True) if r == row
        )
        assert all(b - a >= pitch - 1e-6 for a, b in itertools.pairwise(drawn))
    assert all(0 <= moved <= shift + 1e-6 for _, moved in placed)


def test_a_label_that_would_run_off_the_right_ends_at_its_line() -> None:
    spots = place_labels([(0.0, 100.0), (880.0, 100.0)], 900, room_left=80, room_right=24)
    assert spots == [LabelSpot(0, "start", 3.0, 103.0), LabelSpot(0, "end", 777.0, 877.0)]


def test_labels_at_one_instant_go_to_rows() -> None:
    spots = place_labels([(400.0, 60.0)] * 3, 900, 80, 24)
    assert [spot.row for spot in spots] == [0, 1, 2]
    assert {spot.anchor for spot in spots} == {"start"}


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(fractions, st.integers(1, 48)), max_size=20), widen)
def test_labels_never_overlap_nor_leave_the_chart_on_any_wider_plot(
    labels: list[tuple[float, int]], k: float
) -> None:
    plot, room_left, room_right = 900.0, 80.0, 24.0
    sized = [(f * plot, text_width("x" * chars, 11)) for f, chars in labels]
    spots = place_labels(sized, plot, room_left, room_right)
    extents = []
    for (f, _), (x, _), spot in zip(labels, sized, spots, strict=True):
        # the same offsets from the line, wherever the line moves on the wider plot
        moved = f * plot * k - x
        extents.append((spot.row, spot.left + moved, spot.right + moved))
    for left, right in ((a, b) for _, a, b in extents):
        assert left >= -room_left - 1e-6 and right <= plot * k + room_right + 1e-6
    for a, b in itertools.combinations(extents, 2):
        if a[0] == b[0]:
            assert a[2] <= b[1] or b[2] <= a[1], (a, b)


@pytest.mark.parametrize(
    ("span", "ticks", "decimals"),
    [
        (6.07, [0, 1, 2, 3, 4, 5, 6], 0),
        (3.004, [0, 0.5, 1, 1.5, 2, 2.5, 3], 1),
        (120.0, [0, 20, 40, 60, 80, 100, 120], 0),
        (0.004, [0, 0.0005, 0.001, 0.0015, 0.002, 0.0025, 0.003, 0.0035, 0.004], 4),
    ],
)
def test_time_ticks_are_round_numbers(span: float, ticks: list[float], decimals: int) -> None:
    got, places = time_ticks(span, 900)
    assert got == pytest.approx(ticks) and places == decimals


@settings(max_examples=300, deadline=None)
@given(st.floats(1e-4, 1e6, allow_nan=False), st.floats(200, 3000, allow_nan=False))
def test_ticks_are_readable_and_span_the_axis(span: float, plot: float) -> None:
    ticks, decimals = time_ticks(span, plot, min_gap=90)
    assert ticks[0] == 0 and ticks[-1] <= span * (1 + 1e-9)
    # a 1-2-5 step is under 2.5 times the finest allowed: at 900 px, 5 ticks at least
    assert len(ticks) - 1 >= math.floor(math.floor(plot / 90) / 2.5)
    step = ticks[1] - ticks[0] if len(ticks) > 1 else span
    assert step / span * plot >= 90 * (1 - 1e-6)  # labels of ~8 characters never touch
    assert span - ticks[-1] < step * (1 + 1e-6)  # the last tick is near the end
    assert len({f"{tick:.{decimals}f}" for tick in ticks}) == len(ticks)  # all distinct


def test_a_time_axis_needs_a_span() -> None:
    with pytest.raises(ValueError, match="positive span"):
        time_ticks(0, 900)


# -- colours: CIE L*a*b* distance, in plain sight and as a deuteranope sees them -------------


def _linear(colour: str) -> tuple[float, ...]:
    channels = (int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5))
    return tuple(c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)


def _lab(rgb: tuple[float, ...]) -> tuple[float, float, float]:
    r, g, b = rgb
    x = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047
    y = 0.2126 * r + 0.7152 * g + 0.0722 * b
    z = (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883

    def f(t: float) -> float:
        return t ** (1 / 3) if t > 0.008856 else 7.787 * t + 16 / 116

    return 116 * f(y) - 16, 500 * (f(x) - f(y)), 200 * (f(y) - f(z))


def _deuteranope(rgb: tuple[float, ...]) -> tuple[float, ...]:
    matrix = ((0.367, 0.861, -0.228), (0.280, 0.673, 0.047), (-0.012, 0.043, 0.969))
    return tuple(
        min(1.0, max(0.0, sum(m * c for m, c in zip(row, rgb, strict=True)))) for row in matrix
    )


@pytest.mark.parametrize(("vision", "least"), [("plain", 25.0), ("deuteranope", 15.0)])
def test_tag_families_have_colours_told_apart(vision: str, least: float) -> None:
    seen = {
        name: _lab(_linear(colour) if vision == "plain" else _deuteranope(_linear(colour)))
        for name, colour in FAMILY_COLOURS.items()
    }
    closest = min((math.dist(seen[a], seen[b]), a, b) for a, b in itertools.combinations(seen, 2))
    assert closest[0] >= least, closest
