"""Which transitions a campaign exercised, and which it had to.

A campaign that never killed a connected minion cannot claim that presence
handles kills: the report lists every transition with its count, and the
campaign fails when a required one stayed at zero.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

__all__ = ["REQUIRED", "Coverage"]

_COMMON = (
    "key none -> pending",
    "key pending -> accepted",
    "key pending -> rejected",
    "key accepted -> deleted -> pending again",
    "rejected minion exits",
    "present -> lost (stop)",
    "present -> lost (kill)",
    "present -> lost (pause)",
    "unpause -> new",
    "present -> lost -> new again",
    "master restart",
    "signed in again after a master restart",
    "job returned",
    "custom events",
)
REQUIRED: dict[str, tuple[str, ...]] = {
    "local": _COMMON,
    "docker": (*_COMMON, "present -> lost (disconnect)", "reconnect -> new"),
}


class Coverage:
    """Counts of the transitions a campaign exercised, examples and steps; ``missing`` are
    the required ones never seen, ``report()`` the table the campaign prints."""

    def __init__(self, backend: str, required: Iterable[str] | None = None) -> None:
        self.backend = backend
        self.required = tuple(REQUIRED[backend] if required is None else required)
        self.counts: Counter[str] = Counter()
        self.examples = 0
        self.steps = 0

    def add(self, transitions: Iterable[str]) -> None:
        self.counts.update(transitions)

    @property
    def missing(self) -> list[str]:
        return [name for name in self.required if not self.counts[name]]

    def report(self) -> str:
        names = list(self.required) + sorted(set(self.counts) - set(self.required))
        width = max(len(n) for n in names) if names else 0
        lines = [
            f"coverage ({self.backend}): {self.examples} examples, {self.steps} steps",
        ]
        for name in names:
            mark = "required" if name in self.required else "        "
            flag = (
                "  <-- never exercised" if name in self.required and not self.counts[name] else ""
            )
            lines.append(f"  {name:<{width}}  {self.counts[name]:>5}  {mark}{flag}")
        return "\n".join(lines)
