"""Two normalised runs of one scenario side by side: saltsim against real Salt.

Per step, both label sequences aligned (``difflib``): a label only one side has is a
``sequence`` difference, the same labels in another order an ``order`` difference. Per
tag family, the payload keys and their value types: a key only one side has, or other
types, is a ``payload`` difference. A difference the scenario file declares
(``differences:``, with its reason) is shown as declared; any other fails the diff.
"""

from __future__ import annotations

import difflib
import fnmatch
from collections import Counter
from dataclasses import dataclass, field

from saltsim.scenario.normalise import NormRun, Shape
from saltsim.scenario.spec import Difference

__all__ = ["DiffResult", "Finding", "Row", "compare", "render_text"]

KINDS = ("sequence", "order", "payload")


@dataclass(frozen=True)
class Finding:
    """One difference between the two runs, and the ``differences:`` entry that declares
    it, if any."""

    kind: str  # sequence | order | payload
    where: str  # the step's label, or the tag family
    tags: tuple[str, ...]  # what declarations are matched against
    text: str
    declared: Difference | None = None


@dataclass(frozen=True)
class Row:
    """One line of a step's side-by-side view: ``mark`` is ' ', '<', '>' or '~'."""

    mark: str
    left: str
    right: str


@dataclass
class DiffResult:
    """Both normalised runs, their side-by-side rows per step and every finding; ``ok``
    when each finding is declared."""

    left: NormRun
    right: NormRun
    rows: list[tuple[str, list[Row]]] = field(default_factory=list)  # per step
    findings: list[Finding] = field(default_factory=list)

    @property
    def undeclared(self) -> list[Finding]:
        return [f for f in self.findings if f.declared is None]

    @property
    def ok(self) -> bool:
        return not self.undeclared


def _declared(
    kind: str, tags: tuple[str, ...], declared: tuple[Difference, ...]
) -> Difference | None:
    wanted = ("sequence", "order") if kind == "order" else (kind,)
    for item in declared:
        if item.kind is not None and item.kind not in wanted:
            continue
        if tags and all(fnmatch.fnmatchcase(tag, item.tag) for tag in tags):
            return item
    return None


def _tag(label: str) -> str:
    return label.split(" ", 1)[0]


def _common(left: list[str], right: list[str]) -> tuple[list[str], list[str]]:
    """Both lists cut down to what both have (as many of each as the other has): order is
    judged on those; what only one side has is a sequence difference already."""
    both = Counter(left) & Counter(right)
    out: list[list[str]] = []
    for labels in (left, right):
        budget = Counter(both)
        kept = []
        for label in labels:
            if budget[label] > 0:
                budget[label] -= 1
                kept.append(label)
        out.append(kept)
    return out[0], out[1]


def _rows(left: list[str], right: list[str]) -> list[Row]:
    rows: list[Row] = []
    matcher = difflib.SequenceMatcher(a=left, b=right, autojunk=False)
    for op, a0, a1, b0, b1 in matcher.get_opcodes():
        if op == "equal":
            rows += [Row(" ", x, x) for x in left[a0:a1]]
            continue
        lhs, rhs = left[a0:a1], right[b0:b1]
        for i in range(max(len(lhs), len(rhs))):
            a = lhs[i] if i < len(lhs) else ""
            b = rhs[i] if i < len(rhs) else ""
            rows.append(Row("~" if a and b else "<" if a else ">", a, b))
    return rows


def _shape_findings(
    left: dict[str, Shape], right: dict[str, Shape], names: tuple[str, str]
) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for fam in sorted(set(left) & set(right)):
        lhs, rhs = left[fam].types, right[fam].types
        for key in sorted(set(lhs) - set(rhs)):
            found.append((fam, f"{fam}: key {key!r} only on {names[0]}"))
        for key in sorted(set(rhs) - set(lhs)):
            found.append((fam, f"{fam}: key {key!r} only on {names[1]}"))
        for key in sorted(set(lhs) & set(rhs)):
            if lhs[key] != rhs[key] and not key.startswith("_"):
                found.append(
                    (
                        fam,
                        f"{fam}: {key!r} is {'|'.join(sorted(lhs[key]))} on {names[0]}, "
                        f"{'|'.join(sorted(rhs[key]))} on {names[1]}",
                    )
                )
    return found


def compare(left: NormRun, right: NormRun, declared: tuple[Difference, ...] = ()) -> DiffResult:
    """``left`` is saltsim's run, ``right`` real Salt's (by convention; names come from the
    runs' backends)."""
    names = (left.backend or "left", right.backend or "right")
    result = DiffResult(left, right)
    for lstep, rstep in zip(left.steps, right.steps, strict=False):
        where = lstep.name
        result.rows.append((where, _rows(lstep.labels, rstep.labels)))
        extra = Counter(lstep.labels) - Counter(rstep.labels)
        missing = Counter(rstep.labels) - Counter(lstep.labels)
        for side, counts in ((names[0], extra), (names[1], missing)):
            for label, n in sorted(counts.items()):
                tags = (_tag(label),)
                text = f"step {where}: {n}x {label} only on {side}"
                result.findings.append(
                    Finding("sequence", where, tags, text, _declared("sequence", tags, declared))
                )
        # Order is judged per minion and among the master's own events: how the
        # events of minions acting at once interleave is timing, not behaviour.
        for who in sorted(set(lstep.who) | set(rstep.who), key=lambda w: w or ""):
            lhs, rhs = _common(lstep.projection(who), rstep.projection(who))
            if lhs == rhs:
                continue
            rows = [r for r in _rows(lhs, rhs) if r.mark != " "]
            moved = tuple(sorted({_tag(x) for r in rows for x in (r.left, r.right) if x}))
            text = (
                f"step {where}: {who or 'the master'}'s events in another order: "
                f"{' -> '.join(lhs)} on {names[0]}, {' -> '.join(rhs)} on {names[1]}"
            )
            result.findings.append(
                Finding("order", where, moved, text, _declared("order", moved, declared))
            )
    for fam, text in _shape_findings(left.shapes, right.shapes, names):
        result.findings.append(
            Finding("payload", fam, (fam,), text, _declared("payload", (fam,), declared))
        )
    return result


def render_text(result: DiffResult, width: int = 64) -> str:
    left, right = result.left, result.right
    title = f"saltsim ({left.backend})"
    lines = [f"{title:<{width}}   real Salt ({right.backend}), dialect {right.dialect}"]
    for where, rows in result.rows:
        if not rows:
            continue
        lines.append(f"--- step {where}")
        for row in rows:
            lines.append(f"{row.left[:width]:<{width}} {row.mark} {row.right[:width]}")
    lines.append("--- payload keys and value types per tag family (saltsim | real Salt)")
    for fam in sorted(set(left.shapes) | set(right.shapes)):
        lhs, rhs = left.shapes.get(fam), right.shapes.get(fam)
        counts = f"{lhs.count if lhs else 0}/{rhs.count if rhs else 0}"
        lines.append(f"{fam} ({counts})")
        keys = sorted(set(lhs.types if lhs else {}) | set(rhs.types if rhs else {}))
        for key in keys:
            a = "|".join(sorted(lhs.types.get(key, ()))) if lhs else ""
            b = "|".join(sorted(rhs.types.get(key, ()))) if rhs else ""
            mark = " " if a == b or key.startswith("_") else "~"
            lines.append(f"    {key:<28} {a or '-':<14} {mark} {b or '-'}")
    declared = [f for f in result.findings if f.declared is not None]
    if declared:
        lines.append(f"--- {len(declared)} declared differences")
        for item in declared:
            assert item.declared is not None
            lines.append(f"  declared ({item.declared.why}): {item.text}")
    undeclared = result.undeclared
    lines.append(f"--- {len(undeclared)} undeclared differences")
    lines.extend(f"  {item.kind}: {item.text}" for item in undeclared)
    return "\n".join(lines)
