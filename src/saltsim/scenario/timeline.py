"""One self-contained HTML page per run: lanes of events over time, steps, verdicts.

A lane per minion plus a ``master`` lane; each event is a mark at its arrival time in the
lanes of the minions it names (tag segment, ``data.id``, presence ``new``/``lost``), else
in the master's; colour by tag family. Step starts are vertical lines. Beside it, every
expectation with pass / FAIL / skipped and its message. Inline CSS and SVG only; hovering
a mark shows the event (SVG ``<title>``). Everything from the run is HTML-escaped.
"""

from __future__ import annotations

import json
from html import escape
from pathlib import Path

from saltsim.scenario._bus_order import Slot, bus_order, lanes_of
from saltsim.scenario.checker import CheckResult
from saltsim.scenario.record import RecordedRun
from saltsim.scenario.report import expectation_title, render_summary
from saltsim.scenario.spec import Scenario

__all__ = ["FAMILY_COLOURS", "family", "render_timeline", "write_timeline"]

FAMILY_COLOURS = {
    "auth": "#1f77b4",
    "key": "#ff7f0e",
    "start": "#2ca02c",
    "job": "#9467bd",
    "run": "#8c564b",
    "presence": "#17becf",
    "custom": "#e377c2",
    "saltsim": "#aaaaaa",
}
LEFT, RIGHT, TOP, LANE = 110, 20, 60, 34
MAX_TABLE_ROWS = 5000

_CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}
h1{font-size:1.3em;margin:0 0 .2em} .meta{color:#555;margin:0 0 1em}
.pass{color:#1a7f37} .FAIL{color:#c62828;font-weight:bold} .skipped{color:#888}
.problem{background:#fdecea;border-left:4px solid #c62828;padding:.4em .8em;margin:.5em 0}
.wrap{display:flex;flex-wrap:wrap;gap:1.5em;align-items:flex-start}
.chart{overflow-x:auto;max-width:100%} table{border-collapse:collapse}
td,th{padding:2px 8px;border-bottom:1px solid #eee;text-align:left;vertical-align:top}
td.msg{white-space:pre-wrap;font-family:ui-monospace,monospace;font-size:12px;max-width:60em}
.events td{font-family:ui-monospace,monospace;font-size:12px}
.legend span{display:inline-block;margin-right:1em}
.legend i{display:inline-block;width:10px;height:10px;border-radius:50%;margin-right:4px}
svg text{font:12px system-ui,sans-serif} svg .step{font-size:11px;fill:#444}
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


def _tooltip(slot: Slot, origin: float) -> str:
    data = json.dumps(slot.event.data, default=repr, ensure_ascii=False)
    if len(data) > 600:
        data = data[:600] + "…"
    return f"seq {slot.seq}  +{slot.t - origin:.3f}s\n{slot.event.tag}\n{data}"


def _svg(run: RecordedRun, lanes: list[str], slots: list[Slot], focus: set[int], width: int) -> str:
    origin = run.origin
    end = max([*run.times, *(mark.started_at for mark in run.marks), origin])
    span = max(end - origin, 1e-6)
    plot = width - LEFT - RIGHT
    height = TOP + LANE * len(lanes) + 24

    def x(t: float) -> float:
        return LEFT + (t - origin) / span * plot

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img">']
    for row, lane in enumerate(lanes):
        y = TOP + row * LANE
        shade = "#f6f8fa" if row % 2 else "#ffffff"
        out.append(f'<rect x="0" y="{y}" width="{width}" height="{LANE}" fill="{shade}"/>')
        out.append(f'<text x="6" y="{y + LANE / 2 + 4}" class="lane">{escape(lane)}</text>')
    bottom = TOP + LANE * len(lanes)
    for number, mark in enumerate(run.marks):
        mx = x(mark.started_at)
        label = escape(f"{mark.index + 1} {mark.kind} {mark.name or ''}".strip())
        out.append(
            f'<line x1="{mx:.1f}" y1="{TOP - 18}" x2="{mx:.1f}" y2="{bottom}" '
            'stroke="#666" stroke-dasharray="3,3"/>'
        )
        out.append(
            f'<text x="{mx + 3:.1f}" y="{TOP - 24 - (number % 2) * 14}" class="step">{label}</text>'
        )
    for slot in slots:
        colour = FAMILY_COLOURS[family(slot.event.tag)]
        title = escape(_tooltip(slot, origin))
        stroke = ' stroke="#c62828" stroke-width="3"' if slot.pos in focus else ""
        for lane in lanes_of(slot.event, lanes[1:]):
            cy = TOP + lanes.index(lane) * LANE + LANE / 2
            out.append(
                f'<circle cx="{x(slot.t):.1f}" cy="{cy}" r="5" fill="{colour}"{stroke}>'
                f"<title>{title}</title></circle>"
            )
    out.append(f'<text x="{LEFT}" y="{bottom + 16}">0 s</text>')
    out.append(f'<text x="{width - RIGHT}" y="{bottom + 16}" text-anchor="end">{span:.2f} s</text>')
    out.append("</svg>")
    return "\n".join(out)


def render_timeline(
    scenario: Scenario, run: RecordedRun, result: CheckResult, width: int = 1100
) -> str:
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
    legend = "".join(
        f'<span><i style="background:{c}"></i>{escape(n)}</span>' for n, c in FAMILY_COLOURS.items()
    )
    parts.append(f'<div class="wrap"><div class="chart"><div class="legend">{legend}</div>')
    parts.append(_svg(run, lanes, slots, focus, width))
    parts.append(
        "</div><div><h2>Expectations</h2><table><tr><th></th><th>expectation</th><th>message</th></tr>"
    )
    for item in result.results:
        what = expectation_title(item)
        parts.append(
            f'<tr><td class="{item.status}">{item.status}</td><td>{escape(what)}</td>'
            f'<td class="msg">{escape(item.message)}</td></tr>'
        )
    parts.append("</table></div></div>")
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
