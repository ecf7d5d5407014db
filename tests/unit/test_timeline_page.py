"""The timeline page as rendered: which lane each mark is in, stacked marks, the labels'
anchors, the axis, the legend, the page's width. (Geometry in a browser:
tests/functional/test_fn_timeline.py.)"""

from __future__ import annotations

import itertools
import re

from test_scenario_support import PRESENCE, FakeBus, presence_run, scenario

from saltsim.scenario import check, load_scenario, render_timeline
from saltsim.scenario.timeline import PITCH

CIRCLE = re.compile(r'<circle cx="([\d.]+)%" cy="([\d.]+)"[^>]*data-seq="(\d+)" data-lane="(\w+)"')


def marks(page: str) -> list[tuple[float, float, int, str]]:
    """(x %, y, seq, lane) of every mark on the chart."""
    return [(float(x), float(y), int(s), lane) for x, y, s, lane in CIRCLE.findall(page)]


def test_presence_marks_go_to_the_lanes_of_the_minions_they_name() -> None:
    run = presence_run()
    sc = load_scenario(PRESENCE)
    drawn = marks(render_timeline(sc, run, check(sc, run)))
    lost = next(e.seq for e in run.events if e.data.get("lost") == ["m2"])
    assert [lane for _, _, seq, lane in drawn if seq == lost] == ["m2"]
    both = next(e.seq for e in run.events if e.data.get("new") == ["m2", "m3"])
    assert sorted(lane for _, _, seq, lane in drawn if seq == both) == ["m2", "m3"]
    assert {lane for *_, lane in drawn} == {"master", "m1", "m2", "m3"}


def test_events_at_one_instant_stack_in_their_lane() -> None:
    bus = FakeBus()
    bus.step(0, "start", "all")
    for tag in ("a/1", "a/2", "a/3"):
        bus.fire(tag, {"id": "m1"}, dt=0)  # one arrival time
    sc = scenario("  - never: nothing/here")
    drawn = [m for m in marks(render_timeline(sc, bus.run, check(sc, bus.run))) if m[3] == "m1"]
    assert len({x for x, *_ in drawn}) == 1  # at the same time...
    ys = sorted(y for _, y, *_ in drawn)
    assert [b - a for a, b in itertools.pairwise(ys)] == [PITCH, PITCH]  # ...one row each


def test_the_last_step_label_ends_at_its_line_and_the_axis_has_ticks() -> None:
    bus = FakeBus()
    bus.step(0, "start", "all")
    bus.sign_in("m1")
    bus.fire("x/y", dt=5.0)
    bus.step(1, "fire", "a-step-at-the-very-end-of-the-run")
    sc = scenario("  - never: nothing/here")
    page = render_timeline(sc, bus.run, check(sc, bus.run))
    last = re.search(r'<text [^>]*text-anchor="(\w+)" class="step">2 fire a-step-at', page)
    assert last is not None and last.group(1) == "end"
    first = re.search(r'<text [^>]*text-anchor="(\w+)" class="step">1 start all', page)
    assert first is not None and first.group(1) == "start"
    ticks = re.findall(r'class="tick">([\d.]+) s</text>', page)
    assert ticks == ["0", "1", "2", "3", "4", "5"]


def test_the_chart_takes_the_page_width_and_the_legend_counts_families() -> None:
    run = presence_run()
    sc = load_scenario(PRESENCE)
    page = render_timeline(sc, run, check(sc, run))
    assert '<svg xmlns="http://www.w3.org/2000/svg" width="100%"' in page
    assert 'class="wrap"' not in page  # nothing beside the chart any more
    assert "presence (10)" in page and "start (16)" in page and "custom (0)" in page
    saltsim = re.search(r'<circle [^>]*class="mark internal"[^>]*data-seq="1"', page)
    assert saltsim is not None  # the testbed's own event, drawn hollow
