"""The testbed interface every backend implements (local processes, docker containers,
real Salt in containers), and the bus access they share.

Callers (the scenario runner, the churn fuzzer, the pytest plugin, tests) type against
``Testbed`` and use nothing else; ``tests/unit/test_testbed_protocol.py`` proves, with
mypy and at run time, that each backend class implements it. What only saltsim's own
master offers (the request port's ``publish``) is ``SaltsimTestbed``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, Self

from saltsim.client import EventClient
from saltsim.curve import CurveClient
from saltsim.errors import NotSupportedError, TestbedError
from saltsim.masterclient import MasterClient

if TYPE_CHECKING:
    from saltsim.recorder import Recorder

__all__ = [
    "BusPorts",
    "MasterControl",
    "NotSupportedError",
    "SaltsimTestbed",
    "Testbed",
    "TestbedError",
    "minion_action",
]


class MasterControl(Protocol):
    """What ``Testbed.client()`` offers on every backend: salt-key, salt and salt-run.

    saltsim's ``MasterClient`` does it through the master's request port, the salt
    backend's ``SaltCli`` with Salt's own command lines in the master's container.
    """

    def __enter__(self) -> Self: ...
    def __exit__(self, *exc: object) -> None: ...
    def close(self) -> None: ...
    def key(self, fun: str, match: str = "*", **flags: Any) -> dict[str, list[str]]: ...
    def cmd(
        self,
        tgt: str | list[str],
        fun: str,
        arg: list[Any] | None = None,
        kwarg: dict[str, Any] | None = None,
        tgt_type: str = "glob",
        timeout: float = 5.0,
    ) -> tuple[dict[str, Any], list[str]]: ...
    def runner(
        self, fun: str, arg: list[Any] | None = None, kwarg: dict[str, Any] | None = None
    ) -> dict[str, Any]: ...


class Testbed(Protocol):
    """A master and its minions that scenarios, tests and the churn fuzzer drive.

    A context manager: ``with LocalTestbed(...) as bed`` starts it and always closes it,
    also after a failed start. Until ``start()`` the master may still be configured
    (``configure_master``, ``start_cloud``); minions are added before or after.
    """

    backend: str  # "local", "docker" or "salt"
    dialect: str  # the Salt version the master and minions speak: "3008" or "3006"

    # The master's bus as this process reaches it: ipc:// in the master's private sock_dir
    # (local backend), or TCP through a published port with the CURVE keys the testbed made
    # for its own tools (docker and salt backends; bus_curve None means no keys are needed).
    bus_pub: str
    bus_pull: str
    bus_curve: CurveClient | None

    # -- lifecycle ----------------------------------------------------------------
    def start(self) -> Self: ...
    def close(self) -> None: ...
    def __enter__(self) -> Self: ...
    def __exit__(self, *exc: object) -> None: ...
    def configure_master(self, **options: Any) -> None: ...  # before start() only

    # -- clients ------------------------------------------------------------------
    def listener(self, timeout: float = 30.0) -> EventClient: ...
    def recorder(self, **options: Any) -> Recorder: ...
    def bus_tool_env(self) -> dict[str, str]: ...  # SALTSIM_* for a CLI tool on this host
    def client(self) -> MasterControl: ...

    # -- minions (by handle: the id unless add_minion was given a name) ---------------
    def add_minion(
        self, minion_id: str, start: bool = True, *, name: str | None = None, **options: Any
    ) -> None: ...
    def add_swarm(self, prefix: str, count: int, **options: Any) -> None: ...
    def start_minion(self, minion_id: str) -> None: ...
    def stop_minion(self, minion_id: str) -> None: ...
    def kill_minion(self, minion_id: str) -> None: ...
    def pause_minion(self, minion_id: str) -> None: ...
    def unpause_minion(self, minion_id: str) -> None: ...
    def disconnect_minion(self, minion_id: str) -> None: ...
    def reconnect_minion(self, minion_id: str) -> None: ...
    def minion_exit_code(self, minion_id: str, timeout: float = 10.0) -> int: ...

    # -- master and providers -------------------------------------------------------
    def restart_master(self) -> None: ...
    def logs(self, name: str) -> str: ...  # "master", "cloud-sim" or a minion's handle
    def start_cloud(self, **options: Any) -> str: ...  # cloud-sim's URL for the master

    @property
    def cloud_url_host(self) -> str: ...  # cloud-sim's URL for this process


class SaltsimTestbed(Testbed, Protocol):
    """A testbed running saltsim's own master (local and docker backends): its client is
    the full ``MasterClient`` (``publish`` without waiting, raw ``call``)."""

    def client(self) -> MasterClient: ...


def minion_action(bed: Testbed, kind: str) -> Callable[[str], None]:
    """``bed.<kind>_minion`` for a step or rule named by its kind (``start``, ``stop``,
    ``kill``, ``pause``, ``unpause``, ``disconnect``, ``reconnect``)."""
    actions: dict[str, Callable[[str], None]] = {
        "start": bed.start_minion,
        "stop": bed.stop_minion,
        "kill": bed.kill_minion,
        "pause": bed.pause_minion,
        "unpause": bed.unpause_minion,
        "disconnect": bed.disconnect_minion,
        "reconnect": bed.reconnect_minion,
    }
    try:
        return actions[kind]
    except KeyError:
        raise ValueError(f"no minion action {kind!r}; known: {', '.join(actions)}") from None


class BusPorts:
    """The master bus as a backend's tools reach it: addresses, and CURVE keys over TCP.

    Each backend sets ``bus_pub``, ``bus_pull`` and ``bus_curve`` once it knows them.
    """

    ports: dict[str, int]
    bus_pub: str = ""
    bus_pull: str = ""
    bus_curve: CurveClient | None = None
    bus_client_key: Path | None = None  # the secret half of bus_curve's client key, on disk

    def listener(self, timeout: float = 30.0) -> EventClient:
        """An event client on the master bus, armed (it provably receives) on return."""
        client = EventClient(self.bus_pub, self.bus_pull, curve=self.bus_curve)
        try:
            client.wait_ready(timeout)
        except BaseException:
            client.close()
            raise
        return client

    def recorder(self, **options: Any) -> Recorder:
        """A ``Recorder`` of the master bus (not started: ``with`` or ``start()`` it)."""
        from saltsim.recorder import Recorder

        return Recorder(self.bus_pub, self.bus_pull, curve=self.bus_curve, **options)

    def bus_tool_env(self) -> dict[str, str]:
        """Environment for a ``saltsim`` CLI tool on this host to reach the bus over TCP
        with this testbed's CURVE keys."""
        if self.bus_curve is None or self.bus_client_key is None:
            raise TestbedError("the bus has no CURVE keys yet: bus_tool_env() before start()")
        return {
            "SALTSIM_MASTER": "127.0.0.1",
            "SALTSIM_BUS_PUB_PORT": str(self.ports["bus_pub_port"]),
            "SALTSIM_BUS_PULL_PORT": str(self.ports["bus_pull_port"]),
            "SALTSIM_BUS_SERVER_KEY": self.bus_curve.server_key.decode(),
            "SALTSIM_BUS_CLIENT_KEY": str(self.bus_client_key),
        }
