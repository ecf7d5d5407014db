"""One self-contained HTML page per run: lanes of events over time, steps, verdicts.

A lane per minion plus a ``master`` lane; each event is a mark at its arrival time in the
lanes of the minions it names (tag segment, ``data.id``, presence ``new``/``lost``), else
in the master's; colour by tag family (a colour-blind-safe palette, with a legend). Marks
that would touch are stacked in rows, so every event stays visible: a lane grows as tall
as its busiest instant needs. Step starts are vertical lines with their labels above the
lanes, in rows so that none overlaps another or runs off the chart; a time axis with ticks
runs below. Beneath, every expectation with pass / FAIL / skipped and its message.

The chart takes the page's width. Horizontal positions are percentages of the plot, so
the browser stretches it without any script; the layout (rows of marks, rows and anchors
of labels, ticks) is computed for the narrowest plot, ``PLOT_MIN`` pixels (narrower pages
scroll), and holds at every wider one: two things apart at that width only move further
apart as the plot widens. Text widths are estimated for a monospace font (``MONO_EM``).
Inline CSS and SVG only; hovering a mark shows the event (SVG ``<title>``). Everything
from the run is HTML-escaped.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from pathlib import Path

from saltsim.scenario._bus_order import Slot, bus_order, lanes_of
from saltsim.scenario.checker import CheckResult
from saltsim.scenario.record import RecordedRun
from saltsim.scenario.report import expectation_title, render_summary
from saltsim.scenario.spec import Scenario

__all__ = [
    "FAMILY_COLOURS",
    "LabelSpot",
    "family",
    "pack_rows",
    "place_labels",
    "render_timeline",
    "text_width",
    "time_ticks",
    "write_timeline",
]

# Okabe & Ito's palette, told apart with every common colour-vision deficiency. The
# testbed's own events (saltsim/...) are drawn hollow: present, but out of the way.
FAMILY_COLOURS = {
    "auth": "#0072b2",
    "key": "#e69f00",
    "start": "#009e73",
    "job": "#cc79a7",
    "run": "#d55e00",
    "presence": "#56b4e9",
    "custom": "#000000",
    "saltsim": "#c8c8c8",
}
R = 5  # mark radius
PITCH = 14  # centre to centre of stacked marks (room for a failure's 3 px ring)
LANE = 34  # a lane's height with one row of marks
LANE_PAD = (LANE - PITCH) // 2
MAX_ROWS, MAX_SHIFT = 6, 3 * PITCH  # a burst: rows, then a block at most 4 marks wide
LABEL_ROW = 14  # step label rows above the lanes
PLOT_MIN = 900  # px of time axis the layout is computed for; narrower pages scroll
TICK_GAP = 90  # px between ticks at least, at PLOT_MIN
MONO_EM = 0.62  # advance of a monospace glyph in em, rounded up (most fonts: 0.55-0.6)
LANE_FONT, SMALL_FONT = 12, 11
PAD_LEFT = 16  # room left of the time axis' 0 (half a mark, half the "0 s" label)
MAX_LABEL, MAX_LANE = 48, 40  # characters shown; the whole text is the hover title
MAX_TABLE_ROWS = 5000

_CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}
h1{font-size:1.3em;margin:0 0 .2em} .meta{color:#555;margin:0 0 1em}
.pass{color:#1a7f37} .FAIL{color:#c62828;font-weight:bold} .skipped{color:#888}
.problem{background:#fdecea;border-left:4px solid #c62828;padding:.4em .8em;margin:.5em 0}
.scroll{overflow-x:auto;margin:.5em 0 1.5em} .chart{display:flex}
.plot{flex:1;min-width:0} .plot svg{overflow:visible;display:block} table{border-collapse:collapse}
td,th{padding:2px 8px;border-bottom:1px solid #eee;text-align:left;vertical-align:top}
td.msg{white-space:pre-wrap;font-family:ui-monospace,monospace;font-size:12px;max-width:60em}
.events td{font-family:ui-monospace,monospace;font-size:12px}
.legend{display:flex;flex-wrap:wrap;gap:.3em 1.2em;align-items:center}
.legend svg{vertical-align:middle;margin-right:4px}
.chart text{font-family:ui-monospace,"DejaVu Sans Mono",Menlo,Consolas,monospace;fill:#333}
text.lane{font-size:12px} text.step,text.tick{font-size:11px}
text.step{paint-order:stroke;stroke:#fff;stroke-width:3px;stroke-linejoin:round}
line.stepline{stroke:#666;stroke-dasharray:3,3} line.grid{stroke:#e3e3e3} line.axis{stroke:#888}
circle.mark{stroke:#222;stroke-opacity:.6;stroke-width:1}
circle.internal{fill:#fff;stroke:#999;stroke-opacity:1;stroke-width:1.5}
circle.focus{stroke:#c62828;stroke-opacity:1;stroke-width:3}
"""


def family(tag: str) -> str:
    """The colour family of a tag: auth, key, start, job, run, presence, custom (or saltsim)."""
    if tag.startswith("saltsim/"):
        return "saltsim"
    if tag == "salt/auth":
        return "auth"
    if tag == "key" or tag.startswith("salt/key"):
        return "key"
    if (
        tag.startswith(("salt/minion/", "minion/refresh/", "resource/refresh/"))
        or tag == "minion_start"
    ):
        return "start"
    if tag.startswith("salt/job/") or tag.isdigit():
        return "job"
    if tag.startswith("salt/run/"):
        return "run"
    if tag.startswith("salt/presence/"):
        return "presence"
    return "custom"


# -- layout arithmetic (pure) -------------------------------------------------------------


def text_width(text: str, font_px: float) -> float:
    """An upper estimate of ``text``'s width in a monospace font of ``font_px`` pixels."""
    return len(text) * font_px * MONO_EM


def pack_rows(
    positions: Sequence[float], pitch: float, rows: int = 6, shift: float = 0
) -> list[tuple[int, float]]:
    """A row and a rightward shift (px) for each mark at ``positions`` (px), so that marks
    in one row are at least ``pitch`` apart. In order of position (then of index), a mark
    takes the first row where it fits unshifted; when all are taken it opens a new row,
    up to ``rows``; past that it moves right by at most ``shift`` in the row that needs
    the least, and only then opens yet another row. So a burst at one instant fills rows
    0, 1, 2, ... in index order, then spreads into a compact block; within a row the marks
    keep their order, hence stay apart on any wider plot."""
    ends: list[float] = []  # where the last mark of each row is drawn
    placed = [(0, 0.0)] * len(positions)
    for index in sorted(range(len(positions)), key=lambda i: (positions[i], i)):
        x = positions[index]
        needs = [max(0.0, end + pitch - x) for end in ends]
        row = next((r for r, need in enumerate(needs) if need <= 1e-9), len(ends))
        if row == len(ends) and len(ends) >= rows:
            least = min(range(len(ends)), key=lambda r: (needs[r], r))
            row = least if needs[least] <= shift + 1e-9 else len(ends)
        moved = needs[row] if row < len(ends) else 0.0
        if row == len(ends):
            ends.append(x)
        ends[row] = x + moved
        placed[index] = (row, moved)
    return placed


@dataclass(frozen=True)
class LabelSpot:
    """Where a label goes: its row (0 nearest the lanes) and which side of its line
    (``start``: the text begins right of the line, ``end``: it ends left of it)."""

    row: int
    anchor: str
    left: float  # the text's extent in px at the width it was placed for
    right: float


def place_labels(
    labels: Sequence[tuple[float, float]],
    plot: float,
    room_left: float,
    room_right: float,
    gap: float = 3,
    margin: float = 8,
) -> list[LabelSpot]:
    """Rows and anchors for labels given as ``(x, width)`` px on a plot ``plot`` px wide,
    with ``room_left`` / ``room_right`` px of chart beyond its ends: a label starts ``gap``
    right of its line, or ends left of it when it would run past the right edge; labels
    in one row are ``margin`` apart, in the order of their lines (so they stay apart on
    any wider plot)."""
    spots: list[LabelSpot | None] = [None] * len(labels)
    ends: list[float] = []  # the right end of the last label of each row
    for index in sorted(range(len(labels)), key=lambda i: (labels[i][0], i)):
        x, width = labels[index]
        if x + gap + width <= plot + room_right or x - gap - width < -room_left:
            anchor, left, right = "start", x + gap, x + gap + width
        else:
            anchor, left, right = "end", x - gap - width, x - gap
        row = next((r for r, end in enumerate(ends) if left - end >= margin), len(ends))
        if row == len(ends):
            ends.append(right)
        ends[row] = right
        spots[index] = LabelSpot(row, anchor, left, right)
    return [spot for spot in spots if spot is not None]


def time_ticks(span: float, plot: float, min_gap: float = TICK_GAP) -> tuple[list[float], int]:
    """Tick values from 0 to ``span`` seconds, a step of 1, 2 or 5 times a power of ten
    leaving at least ``min_gap`` px between ticks on a plot ``plot`` px wide, and the
    decimals that step needs."""
    if span <= 0:
        raise ValueError(f"a time axis needs a positive span, not {span}")
    most = max(1, math.floor(plot / min_gap))
    power = 10.0 ** math.floor(math.log10(span / most))
    step = next(power * m for m in (1, 2, 5, 10) if power * m >= span / most * (1 - 1e-9))
    decimals = max(0, -math.floor(math.log10(step) + 1e-9))
    count = math.floor(span / step * (1 + 1e-9))
    return [round(k * step, decimals + 1) for k in range(count + 1)], decimals


# -- the chart ----------------------------------------------------------------------------


def _tooltip(slot: Slot, origin: float) -> str:
    data = json.dumps(slot.event.data, default=repr, ensure_ascii=False)
    if len(data) > 600:
        data = data[:600] + "…"
    return f"seq {slot.seq}  +{slot.t - origin:.3f}s\n{slot.event.tag}\n{data}"


def _clip(text: str, most: int) -> str:
    return text if len(text) <= most else text[: most - 1] + "…"


def _pct(f: float) -> str:
    return f"{f * 100:.4f}%"


def _text(text: str, most: int, attributes: str) -> str:
    """An SVG ``<text>`` of ``text`` cut to ``most`` characters (the whole as its title)."""
    shown = _clip(text, most)
    hover = f"<title>{escape(text)}</title>" if shown != text else ""
    return f"<text {attributes}>{escape(shown)}{hover}</text>"


@dataclass(frozen=True)
class _Dot:
    """One mark: an event in one lane, ``f`` of the way along the axis, in row ``row``."""

    slot: Slot
    lane: int
    f: float
    row: int = 0
    shift: float = 0  # px right of its time, in a burst too dense for its rows


@dataclass(frozen=True)
class _Layout:
    """Every position of the chart, in px except ``f`` fractions of the time axis."""

    dots: list[_Dot]
    tops: list[float]  # of each lane, then the bottom of the last
    steps: list[tuple[float, str, LabelSpot]]  # f, label, where it goes
    ticks: list[tuple[float, str]]  # f, label
    left: float  # the lane names' column
    right: float  # room right of the axis' end

    @property
    def top(self) -> float:
        return self.tops[0]

    @property
    def bottom(self) -> float:
        return self.tops[-1]

    @property
    def height(self) -> float:
        return self.bottom + 26


def _layout(run: RecordedRun, lanes: list[str], slots: list[Slot]) -> _Layout:
    origin = run.origin
    span = max(max([*run.times, *(mark.started_at for mark in run.marks), origin]) - origin, 0.01)

    def at(t: float) -> float:
        return min(max((t - origin) / span, 0.0), 1.0)

    drawn_in = [set(lanes_of(slot.event, lanes[1:])) for slot in slots]
    dots: list[_Dot] = []
    for lane, name in enumerate(lanes):
        mine = [
            _Dot(slot, lane, at(slot.t))
            for slot, names in zip(slots, drawn_in, strict=True)
            if name in names
        ]
        packed = pack_rows([dot.f * PLOT_MIN for dot in mine], PITCH, MAX_ROWS, MAX_SHIFT)
        dots.extend(
            _Dot(d.slot, d.lane, d.f, row, moved)
            for d, (row, moved) in zip(mine, packed, strict=True)
        )
    values, decimals = time_ticks(span, PLOT_MIN)
    ticks = [(value / span, f"{value:.{decimals}f} s") for value in values]

    names = [_clip(lane, MAX_LANE) for lane in lanes]
    left = max(64.0, 8 + max(text_width(name, LANE_FONT) for name in names) + 12)
    # the last tick's label, centred on it, ends inside the chart at PLOT_MIN (and wider)
    f_last, text_last = ticks[-1]
    right = max(24.0, text_width(text_last, SMALL_FONT) / 2 - (1 - f_last) * PLOT_MIN + 6)
    # and a mark moved right in a burst near the end stays inside too
    right = max([right, *(d.f * PLOT_MIN + d.shift + R + 3 - PLOT_MIN for d in dots)])
    texts = [f"{mark.index + 1} {mark.kind} {mark.name or ''}".strip() for mark in run.marks]
    where = [at(mark.started_at) for mark in run.marks]
    spots = place_labels(
        [
            (f * PLOT_MIN, text_width(_clip(text, MAX_LABEL), SMALL_FONT))
            for f, text in zip(where, texts, strict=True)
        ],
        PLOT_MIN,
        left + PAD_LEFT - 4,
        right - 2,
    )
    label_rows = 1 + max((spot.row for spot in spots), default=0)
    tops = [18.0 + LABEL_ROW * label_rows]
    for lane in range(len(lanes)):
        count = 1 + max((dot.row for dot in dots if dot.lane == lane), default=0)
        tops.append(tops[-1] + max(LANE, count * PITCH + 2 * LANE_PAD))
    steps = list(zip(where, texts, spots, strict=True))
    return _Layout(dots, tops, steps, ticks, left, right)


def _chart(run: RecordedRun, lanes: list[str], slots: list[Slot], focus: set[int]) -> str:
    at = _layout(run, lanes, slots)
    top, bottom, height = at.top, at.bottom, at.height
    stripes = [f"#fff 0 {top:.0f}px"]
    for lane in range(len(lanes)):
        shade = "#f6f8fa" if lane % 2 else "#fff"
        stripes.append(f"{shade} {at.tops[lane]:.0f}px {at.tops[lane + 1]:.0f}px")
    stripes.append(f"#fff {bottom:.0f}px")
    chart_min = at.left + PAD_LEFT + PLOT_MIN + at.right
    out = [
        f'<div class="scroll"><div class="chart" style="min-width:{chart_min:.0f}px;'
        f'background:linear-gradient({",".join(stripes)})">',
        f'<svg class="names" xmlns="http://www.w3.org/2000/svg" width="{at.left:.0f}" '
        f'height="{height:.0f}">',
    ]
    for lane, name in enumerate(lanes):
        first_row = at.tops[lane] + LANE / 2  # beside the lane's first row of marks
        out.append(_text(name, MAX_LANE, f'x="8" y="{first_row + 4:.1f}" class="lane"'))
    out.append("</svg>")
    out.append(
        f'<div class="plot" style="padding:0 {at.right:.0f}px 0 {PAD_LEFT}px">'
        f'<svg xmlns="http://www.w3.org/2000/svg" width="100%" height="{height:.0f}" role="img">'
    )
    for f, text in at.ticks:
        x = _pct(f)
        out.append(f'<line class="grid" x1="{x}" y1="{top:.0f}" x2="{x}" y2="{bottom + 4:.0f}"/>')
        out.append(
            f'<text x="{x}" y="{bottom + 17:.0f}" text-anchor="middle" class="tick">{text}</text>'
        )
    out.append(f'<line class="axis" x1="0" y1="{bottom:.0f}" x2="100%" y2="{bottom:.0f}"/>')
    labels = []
    for f, text, spot in at.steps:
        x, baseline = _pct(f), top - 8 - spot.row * LABEL_ROW
        out.append(
            f'<line class="stepline" x1="{x}" y1="{baseline + 3:.0f}" x2="{x}" y2="{bottom:.0f}"/>'
        )
        dx = 3 if spot.anchor == "start" else -3
        place = f'x="{x}" dx="{dx}" y="{baseline:.0f}" text-anchor="{spot.anchor}"'
        labels.append(_text(text, MAX_LABEL, f'{place} class="step"'))
    for dot in at.dots:
        kind = family(dot.slot.event.tag)
        css = "mark internal" if kind == "saltsim" else "mark"
        css += " focus" if dot.slot.pos in focus else ""
        cy = at.tops[dot.lane] + LANE_PAD + PITCH * (dot.row + 0.5)
        moved = f' transform="translate({dot.shift:.1f} 0)"' if dot.shift else ""
        out.append(
            f'<circle cx="{_pct(dot.f)}" cy="{cy:.1f}" r="{R}" fill="{FAMILY_COLOURS[kind]}" '
            f'class="{css}"{moved} data-seq="{dot.slot.seq}" data-lane="{escape(lanes[dot.lane])}">'
            f"<title>{escape(_tooltip(dot.slot, run.origin))}</title></circle>"
        )
    out.extend(labels)  # drawn last: over the lines and marks
    out.append("</svg></div></div></div>")
    return "\n".join(out)


def _legend(slots: list[Slot]) -> str:
    counts = Counter(family(slot.event.tag) for slot in slots)
    items = []
    for name, colour in FAMILY_COLOURS.items():
        css = "mark internal" if name == "saltsim" else "mark"
        items.append(
            f'<span><svg width="12" height="12"><circle cx="6" cy="6" r="{R}" fill="{colour}" '
            f'class="{css}"/></svg>{name} ({counts[name]})</span>'
        )
    items.append(
        '<span><svg width="12" height="12"><circle cx="6" cy="6" r="4" fill="#fff" '
        'class="mark focus"/></svg>an event a failed expectation points at</span>'
    )
    items.append(
        '<span><svg width="12" height="12"><line class="stepline" x1="6" y1="0" x2="6" '
        'y2="12"/></svg>a step begins</span>'
    )
    return f'<div class="legend">{"".join(items)}</div>'


def render_timeline(scenario: Scenario, run: RecordedRun, result: CheckResult) -> str:
    """The HTML page as a string (``write_timeline`` writes it)."""
    slots = bus_order(run)
    lanes = ["master", *(run.minions or scenario.settings.minions), *scenario.settings.vms]
    focus = {r.focus for r in result.failed if r.focus is not None}
    verdict = "passed" if result.ok else "FAILED"
    name, status = escape(scenario.name), "pass" if result.ok else "FAIL"
    backend = run.backend or scenario.settings.backend
    meta = (
        f"{scenario.source} · dialect {run.dialect} · backend {backend} · "
        f"{len(run.events)} events · lost {run.lost} · bus restarts {run.restarts}"
    )
    parts = [
        "<!doctype html>",
        f'<html lang="en"><head><meta charset="utf-8"><title>saltsim: {name}</title>',
        f"<style>{_CSS}</style></head><body>",
        f'<h1>scenario {name} — <span class="{status}">{verdict}</span></h1>',
        f'<p class="meta">{escape(scenario.description)}<br>{escape(meta)}</p>',
    ]
    parts.extend(f'<div class="problem">{escape(problem)}</div>' for problem in result.problems)
    parts.append(_legend(slots))
    parts.append(_chart(run, lanes, slots, focus))
    parts.append("<h2>Expectations</h2><table>")
    parts.append("<tr><th></th><th>expectation</th><th>message</th></tr>")
    for item in result.results:
        what = expectation_title(item)
        parts.append(
            f'<tr><td class="{item.status}">{item.status}</td><td>{escape(what)}</td>'
            f'<td class="msg">{escape(item.message)}</td></tr>'
        )
    parts.append("</table>")
    parts.append(f'<details><summary>events ({len(slots)})</summary><table class="events">')
    parts.append("<tr><th>seq</th><th>+t</th><th>tag</th><th>data</th></tr>")
    for slot in slots[:MAX_TABLE_ROWS]:
        data = json.dumps(slot.event.data, default=repr, ensure_ascii=False)
        parts.append(
            f"<tr><td>{slot.seq}</td><td>{slot.t - run.origin:.3f}</td>"
            f"<td>{escape(slot.event.tag)}</td><td>{escape(data)}</td></tr>"
        )
    if len(slots) > MAX_TABLE_ROWS:
        parts.append(f"<tr><td colspan=4>… {len(slots) - MAX_TABLE_ROWS} more</td></tr>")
    parts.append("</table></details>")
    parts.append(
        "<details><summary>text report</summary>"
        f"<pre>{escape(render_summary(result))}</pre></details>"
    )
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def write_timeline(
    path: str | Path, scenario: Scenario, run: RecordedRun, result: CheckResult
) -> None:
    """Write the run's timeline page to ``path`` (one file, no external assets)."""
    Path(path).write_text(render_timeline(scenario, run, result), encoding="utf-8")
