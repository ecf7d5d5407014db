"""Injected failures: a fault strikes the next N creates, or each create with a seeded rate.

Kinds (what the caller of ``POST /v1/instances`` sees):

- ``quota``: 403 ``QuotaExceeded``, nothing made;
- ``create_error``: 500 ``InternalError``, nothing made;
- ``stuck_pending``: 201, and the instance never leaves ``pending``;
- ``lost_during_boot``: 201, then ``pending`` → ``terminated`` with state_reason
  ``"lost during boot"`` instead of ``running``;
- ``deploy_error`` (drawn on ``POST /v1/instances/{id}/deploy``, not on creates): 500
  ``InternalError``, the deploy script failed and no minion was started.

Every fault sees every create, so each one's count and random sequence advance the same
way whatever the others do (a seeded run is reproducible fault by fault); when several
strike one create, the one added first decides.
"""

from __future__ import annotations

import dataclasses
import random
from typing import Any

__all__ = ["CREATE_KINDS", "DEPLOY_KINDS", "KINDS", "Fault", "FaultBook"]

CREATE_KINDS = ("quota", "create_error", "stuck_pending", "lost_during_boot")
DEPLOY_KINDS = ("deploy_error",)
KINDS = CREATE_KINDS + DEPLOY_KINDS


@dataclasses.dataclass
class Fault:
    """One injected failure and how much of it is left."""

    id: str
    kind: str
    count: int | None = None  # strikes the next `count` creates ...
    rate: float | None = None  # ... or each create with this probability
    seed: int | None = None
    remaining: int | None = None
    struck: int = 0
    _rng: random.Random | None = dataclasses.field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; known: {', '.join(KINDS)}")
        if (self.count is None) == (self.rate is None):
            raise ValueError("a fault has either a count or a rate")
        if self.count is not None:
            if self.count < 0:
                raise ValueError(f"count must not be negative, not {self.count}")
            self.remaining = self.count
        if self.rate is not None:
            if not 0.0 <= self.rate <= 1.0:
                raise ValueError(f"rate must be within 0..1, not {self.rate}")
            self._rng = random.Random(self.seed)

    def draw(self) -> bool:
        """Whether this fault strikes the create being made (advances count or sequence)."""
        if self.remaining is not None:
            hit = self.remaining > 0
            self.remaining -= int(hit)
        else:
            assert self._rng is not None and self.rate is not None
            hit = self._rng.random() < self.rate
        self.struck += int(hit)
        return hit

    def view(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "count": self.count,
            "remaining": self.remaining,
            "rate": self.rate,
            "seed": self.seed,
            "struck": self.struck,
        }


class FaultBook:
    """The faults in force, in the order they were added."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._next = 1

    def add(
        self,
        kind: str,
        *,
        count: int | None = None,
        rate: float | None = None,
        seed: int | None = None,
    ) -> Fault:
        """A new fault (``ValueError`` for an unknown kind or a bad count or rate)."""
        fault = Fault(f"f-{self._next}", kind, count=count, rate=rate, seed=seed)
        self._next += 1
        self._faults.append(fault)
        return fault

    def draw(self, stage: str = "create") -> str | None:
        """The kind of fault that strikes this create (or deploy), or None; every fault of
        that stage draws."""
        kinds = CREATE_KINDS if stage == "create" else DEPLOY_KINDS
        hits = [f.kind for f in self._faults if f.kind in kinds and f.draw()]
        return hits[0] if hits else None

    def clear(self) -> int:
        cleared = len(self._faults)
        self._faults.clear()
        return cleared

    def views(self) -> list[dict[str, Any]]:
        return [fault.view() for fault in self._faults]

    def __len__(self) -> int:
        return len(self._faults)
