"""``scenario diff`` as one HTML page: both runs step by step, aligned, and the payloads.

Colours by tag family as in the run timelines (``timeline.family``); each step a row of
two columns, saltsim's events on the left and real Salt's on the right, aligned by
``difflib``; differences marked and said declared (with the file's reason) or not.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

from saltsim.scenario.diff import DiffResult
from saltsim.scenario.timeline import FAMILY_COLOURS, family

__all__ = ["render_diff_html", "write_diff_html"]

_CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse} td,th{padding:2px 8px;border-bottom:1px solid #eee;
text-align:left;vertical-align:top;font-family:ui-monospace,monospace;font-size:12px}
th.step{background:#f4f4f4;font-family:system-ui,sans-serif;font-size:13px}
tr.diff td{background:#fdecea} .ok{color:#1a7f37} .bad{color:#c62828;font-weight:bold}
i.dot{display:inline-block;width:9px;height:9px;border-radius:50%;margin-right:5px}
"""


def _cell(label: str) -> str:
    if not label:
        return "<td></td>"
    colour = FAMILY_COLOURS[family(label.split(" ", 1)[0])]
    return f'<td><i class="dot" style="background:{colour}"></i>{escape(label)}</td>'


def render_diff_html(name: str, result: DiffResult) -> str:
    left, right = result.left, result.right
    verdict = (
        '<span class="ok">no undeclared difference</span>'
        if result.ok
        else f'<span class="bad">{len(result.undeclared)} undeclared differences</span>'
    )
    parts = [
        "<!doctype html>",
        f'<html lang="en"><head><meta charset="utf-8"><title>saltsim diff: {escape(name)}</title>',
        f"<style>{_CSS}</style></head><body>",
        f"<h1>scenario {escape(name)}: saltsim ({escape(left.backend)}) and real Salt "
        f"(dialect {escape(right.dialect)}) — {verdict}</h1>",
        "<table><tr><th></th><th>saltsim</th><th>real Salt</th></tr>",
    ]
    for where, rows in result.rows:
        if not rows:
            continue
        parts.append(f'<tr><th class="step" colspan="3">step {escape(where)}</th></tr>')
        for row in rows:
            css = "" if row.mark == " " else ' class="diff"'
            parts.append(
                f"<tr{css}><td>{escape(row.mark)}</td>{_cell(row.left)}{_cell(row.right)}</tr>"
            )
    parts.append("</table><h2>Payload keys and value types per tag family</h2><table>")
    parts.append("<tr><th>family</th><th>key</th><th>saltsim</th><th>real Salt</th></tr>")
    for fam in sorted(set(left.shapes) | set(right.shapes)):
        lhs, rhs = left.shapes.get(fam), right.shapes.get(fam)
        keys = sorted(set(lhs.types if lhs else {}) | set(rhs.types if rhs else {}))
        for key in keys:
            a = "|".join(sorted(lhs.types.get(key, ()))) if lhs else ""
            b = "|".join(sorted(rhs.types.get(key, ()))) if rhs else ""
            css = "" if a == b or key.startswith("_") else ' class="diff"'
            parts.append(
                f"<tr{css}><td>{escape(fam)}</td><td>{escape(key)}</td>"
                f"<td>{escape(a or '-')}</td><td>{escape(b or '-')}</td></tr>"
            )
    parts.append("</table><h2>Differences</h2><ul>")
    for item in result.findings:
        said = f"declared: {item.declared.why}" if item.declared else "UNDECLARED"
        css = "ok" if item.declared else "bad"
        parts.append(f'<li><span class="{css}">{escape(said)}</span> — {escape(item.text)}</li>')
    parts.append("</ul></body></html>")
    return "\n".join(parts) + "\n"


def write_diff_html(path: str | Path, name: str, result: DiffResult) -> None:
    Path(path).write_text(render_diff_html(name, result), encoding="utf-8")
