"""One exception root for saltsim; each subclass also inherits the matching builtin.

::

    SaltsimError
    ├── FrameError (ValueError)            a frame or payload that cannot be an event
    ├── ConfigError (ValueError)           a configuration value that cannot be used
    ├── UsageError (ValueError)            a command-line argument that cannot be used
    ├── EventTimeoutError (TimeoutError)   an awaited event did not come in time
    ├── NotSupportedError (NotImplementedError)
    │                                      a backend or an API cannot do this
    └── TestbedError (RuntimeError)        a testbed component failed to start or act
        └── EngineUnavailableError         no Docker engine (or no Compose) here

Other packages add their own leaves (``ScenarioError``, ``MasterError``, ``RemoteError``,
``ImageBuildError``, ...), always under ``SaltsimError``.
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "EngineUnavailableError",
    "EventTimeoutError",
    "FrameError",
    "NotSupportedError",
    "SaltsimError",
    "TestbedError",
    "UsageError",
]


class SaltsimError(Exception):
    """Root of every error saltsim raises on purpose."""


class FrameError(SaltsimError, ValueError):
    """A frame or payload that cannot be an event (empty tag, non-dict data, bad msgpack)."""


class ConfigError(SaltsimError, ValueError):
    """A configuration value, file or environment variable that cannot be used."""


class UsageError(SaltsimError, ValueError):
    """A command-line argument that cannot be used; the CLI exits 2 with the message."""


class NotSupportedError(SaltsimError, NotImplementedError):
    """Something this testbed backend or this API cannot do (a fault the local backend
    cannot inject, firing through a REST API); the message says what can."""


class TestbedError(SaltsimError, RuntimeError):
    """A testbed component failed to start or to act; the message carries its log tail."""

    __test__ = False  # not a pytest test class


class EngineUnavailableError(TestbedError):
    """No Docker engine (or no Compose) answers here; the message is one line saying which.

    Nothing was attempted: a caller may skip (``--if-engine``, the docker test tier) on it.
    """


class EventTimeoutError(SaltsimError, TimeoutError):
    """An awaited event did not arrive before its deadline.

    The message names what was awaited, for how long, what was seen instead and
    what to try next, so a failing test reads as a diagnosis.
    """

    def __init__(self, awaited: str, waited: float, seen: list[str], hint: str = "") -> None:
        self.awaited = awaited
        self.waited = waited
        self.seen = seen
        shown = ", ".join(seen[-10:]) if seen else "nothing"
        more = f" (last 10 of {len(seen)})" if len(seen) > 10 else ""
        msg = f"no event matching {awaited} within {waited:.2f}s; seen instead{more}: {shown}"
        if hint:
            msg += f". {hint}"
        super().__init__(msg)
