"""The run timeline as a reader sees it: headless Chromium lays out ``timeline.html`` of a
run full of simultaneous events, and a small script appended to a copy of the page
measures every mark and label (``getBoundingClientRect``) and writes what it found into
the document, which ``--dump-dom`` hands back. A screenshot of each width is kept in
``tmp_path`` for a person to look at.

Chromium comes from ``make test-deps`` (Debian's package). Without it the test skips in
one line, except under CI (``CI`` set), where it must run.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from saltsim.event import Event
from saltsim.scenario import RecordedRun, check, load_scenario_text, write_timeline

pytestmark = pytest.mark.functional

SCENARIO = """\
name: burst
description: everything at once
settings:
  minions: [m1, m2, m3]
steps:
  - start: all
expect:
  - never: {tag: "my/alarm"}
  - count: {pattern: "salt/job/*/ret/*", exactly: 3}
"""

PROBE = """<script>
(() => {
  const box = (el) => { const r = el.getBoundingClientRect();
    return {left: r.left, right: r.right, top: r.top, bottom: r.bottom}; };
  const meet = (a, b) => a.left < b.right - 0.01 && b.left < a.right - 0.01 &&
                         a.top < b.bottom - 0.01 && b.top < a.bottom - 0.01;
  const pairs = (items) => { const found = [];
    items.forEach((a, i) => items.slice(i + 1).forEach((b) => {
      if (meet(a.box, b.box)) found.push([a.name, b.name]); }));
    return found; };
  const chart = box(document.querySelector(".chart"));
  const inside = (b) => b.left >= chart.left - 0.5 && b.right <= chart.right + 0.5 &&
                        b.top >= chart.top - 0.5 && b.bottom <= chart.bottom + 0.5;
  const marks = [...document.querySelectorAll(".chart svg circle")].map((c) => ({
    name: c.textContent.split("\\n", 1)[0], box: box(c)}));
  const texts = [...document.querySelectorAll(".chart text")].map((t) => ({
    name: t.getAttribute("class") + ":" + t.textContent, box: box(t)}));
  const scroll = document.querySelector(".scroll") || document.querySelector(".chart");
  const probe = document.createElement("pre");
  probe.id = "probe";
  probe.textContent = JSON.stringify({
    marks: marks.length, mark_overlaps: pairs(marks),
    texts: texts.map((t) => t.name), text_overlaps: pairs(texts),
    clipped: texts.filter((t) => !inside(t.box)).map((t) => t.name),
    chart_width: chart.right - chart.left, page_width: document.body.clientWidth,
    scrolls: scroll.scrollWidth > scroll.clientWidth,
  });
  document.body.appendChild(probe);
})();
</script>"""


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed (CI is set, so this test may not skip)")
        pytest.skip("chromium is not installed: run `make test-deps`")
    return found


def burst_run() -> RecordedRun:
    """A run in which whole groups of events share one arrival time, in every lane."""
    run = RecordedRun(minions=("m1", "m2", "m3"), scenario="burst", backend="local")
    seq = 0

    def fire(t: float, tag: str, **data: Any) -> None:
        nonlocal seq
        seq += 1
        stamp = "2026-12-02T12:00:00.000000+00:00"
        run.record(Event.from_data(tag, {**data, "_seq": seq, "_stamp": stamp}), 100.0 + t)

    fire(0.0, "saltsim/bus/start", dialect="3008")
    run.mark(0, "start-all", "start", 100.0)
    for minion in ("m1", "m2", "m3"):  # each minion's sign-in at one instant
        fire(0.5, "salt/auth", id=minion, act="accept", result=True)
        fire(0.5, f"minion/refresh/{minion}")
        fire(0.5, "minion_start", id=minion)
        fire(0.5, f"salt/minion/{minion}/start", id=minion)
        fire(0.5, f"salt/key/{minion}", id=minion, act="accept")
    fire(0.5, "salt/presence/change", new=["m1", "m2", "m3"], lost=[])
    for index, name in enumerate(("wait", "cmd", "fire", "wait")):  # four steps at once
        run.mark(index + 1, name * 3, name, 102.0)
    fire(2.0, "salt/job/20261202120000000001/new", minions=["m1", "m2", "m3"])
    for minion in ("m1", "m2", "m3"):
        fire(2.0, f"salt/job/20261202120000000001/ret/{minion}", id=minion, retcode=0)
    for tag in (
        "salt/run/1/new",
        "salt/run/1/ret",
        "my/alarm",
        "my/other",
        "salt/presence/present",
    ):
        fire(2.0, tag)  # all in the master's lane, at the same instant
    for k in range(40):  # a burst a few milliseconds long
        fire(3.0 + k * 0.0001, f"my/burst/{k}")
    run.mark(5, "the-last-step-with-a-rather-long-name-that-ends-the-run", "fire", 103.0)
    return run


def measure(browser: str, page: Path, width: int, out: Path) -> dict[str, Any]:
    probed = out / f"probe-{width}.html"
    probed.write_text(page.read_text().replace("</body>", PROBE + "</body>"), encoding="utf-8")
    argv = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"]
    argv += [f"--user-data-dir={out / 'profile'}", f"--window-size={width},1000"]
    shot = subprocess.run(
        [*argv, f"--screenshot={out / f'timeline-{width}.png'}", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert shot.returncode == 0, shot.stderr[-2000:]
    dumped = subprocess.run(
        [*argv, "--dump-dom", probed.as_uri()], capture_output=True, text=True, timeout=120
    )
    found = re.search(r'<pre id="probe">(.*?)</pre>', dumped.stdout, re.S)
    assert found, f"no probe in the DOM Chromium dumped: {dumped.stderr[-2000:]}"
    result: dict[str, Any] = json.loads(html.unescape(found.group(1)))
    return result


@pytest.mark.parametrize("width", [800, 1280, 2560])
def test_every_mark_and_label_of_a_burst_is_visible_at_any_width(
    tmp_path: Path, width: int
) -> None:
    browser = chromium()
    run = burst_run()
    sc = load_scenario_text(SCENARIO, "burst.yaml")
    page = tmp_path / "timeline.html"
    write_timeline(page, sc, run, check(sc, run))

    seen = measure(browser, page, width, tmp_path)

    assert seen["marks"] >= len(run.events), seen
    overlaps = seen["mark_overlaps"]
    assert overlaps == [], f"{len(overlaps)} pairs of marks overlap, e.g. {overlaps[:3]}"
    assert seen["text_overlaps"] == [], seen["text_overlaps"]
    assert seen["clipped"] == [], seen["clipped"]
    assert any("the-last-step" in text for text in seen["texts"])
    ticks = [text for text in seen["texts"] if text.startswith("tick:")]
    assert len(ticks) >= 4, ticks
    if width >= 1280:  # the chart takes the page's width, and nothing is hidden
        assert seen["chart_width"] >= seen["page_width"] - 1, seen
        assert not seen["scrolls"]
    assert (tmp_path / f"timeline-{width}.png").stat().st_size > 0
