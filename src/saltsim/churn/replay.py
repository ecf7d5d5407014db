"""A fuzzed run as a scenario file, so a failure replays with ``saltsim scenario run``.

Each step of the run becomes its scenario step, followed by ``wait`` steps for
what the model said the bus must then show (the auth answers, start events, key
events, the AES rotation, job returns, and presence equal to the model), then a
``keys`` step with the key store as the model has it. A replay of a failing run
therefore stops at the first wait or key listing the broken behaviour never
satisfies, and the scenario checker still fails on any lost event.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from saltsim.churn.model import Effect, JobPlan

__all__ = ["ReplayLog"]


class ReplayLog:
    """The steps of one example, as scenario steps (plain data for ``yaml.safe_dump``)."""

    def __init__(self) -> None:
        self.minions: list[str] = []
        self.steps: list[dict[str, Any]] = []
        self.actions: list[str] = []  # one line per fuzzer step, for reports

    def add_minion(self, minion_id: str) -> None:
        self.minions.append(minion_id)
        self.actions.append(f"add_minion {minion_id}")

    def act(self, line: str, step: dict[str, Any] | None) -> None:
        self.actions.append(line)
        if step is not None:
            self.steps.append(step)

    def settle(self, effect: Effect, present: list[str], keys: dict[str, list[str]]) -> None:
        """The waits that hold a replay to the model after the last action, and the key
        store as the model has it (``salt-key -L``)."""
        waits: list[dict[str, Any]] = []
        if effect.restart:
            waits.append({"wait": "saltsim/bus/start"})
        for expected in effect.expected:
            if expected.contains is None:
                waits.append({"wait": {"tag": expected.tag, "data": dict(expected.data)}})
        if effect.rotation:
            waits.append({"wait": {"tag": "key", "data": {"rotate_aes_key": True}}})
        waits.append({"wait": {"tag": "salt/presence/present", "data": {"present": present}}})
        waits.append({"keys": {**keys, "denied": []}})
        self.steps.extend(waits)

    def job(self, plan: JobPlan) -> None:
        unreachable = set(plan.minions) - plan.required
        step: dict[str, Any] = {
            "cmd": {"tgt": list(plan.targets), "tgt_type": "list", "fun": "test.ping"}
        }
        if unreachable:
            step["timeout"] = 2  # the runner waits this long for the ones that cannot answer
        self.act(f"job test.ping -> {list(plan.targets)}", step)
        for minion_id in sorted(plan.required):
            self.steps.append({"wait": f"salt/job/*/ret/{minion_id}"})

    def scenario(self, settings: dict[str, Any], description: str) -> dict[str, Any]:
        steps = self.steps or [{"ticks": 1}]
        return {
            "name": "churn-failure",
            "description": description,
            "settings": {**settings, "minions": list(self.minions)},
            "steps": steps,
        }

    def write(self, path: Path, settings: dict[str, Any], description: str) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        document = self.scenario(settings, description)
        path.write_text(yaml.safe_dump(document, sort_keys=False, width=100))
        return path
