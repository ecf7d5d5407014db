"""The one error of the scenario package: every problem names ``file:line``."""

from __future__ import annotations

from saltsim.errors import SaltsimError

__all__ = ["ScenarioError"]


class ScenarioError(SaltsimError, ValueError):
    """A scenario or record file that cannot be used, with where and why.

    ``str(error)`` reads ``scenarios/x.yaml:12: unknown step kind 'kil'; known: ...``;
    ``source``, ``line`` and ``problem`` hold the parts for tools that want them.
    """

    def __init__(self, source: str, line: int | None, problem: str) -> None:
        self.source = source
        self.line = line
        self.problem = problem
        where = f"{source}:{line}" if line is not None else source
        super().__init__(f"{where}: {problem}")
