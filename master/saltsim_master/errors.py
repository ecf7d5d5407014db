"""The master's own errors (the library's root is ``saltsim.errors.SaltsimError``)."""

from __future__ import annotations

from saltsim.errors import SaltsimError

__all__ = ["RunnerError"]


class RunnerError(SaltsimError):
    """A runner's own failure, reported as its return with ``success: False``."""
