"""The testbed interface both backends implement (local processes, docker containers)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from saltsim.client import EventClient
from saltsim.curve import CurveClient
from saltsim.errors import SaltsimError
from saltsim.masterclient import MasterClient

if TYPE_CHECKING:
    from saltsim.recorder import Recorder

__all__ = ["BusPorts", "NotSupportedError", "Testbed", "TestbedError"]


class TestbedError(SaltsimError, RuntimeError):
    """A component failed to start or to act; the message carries its log tail."""

    __test__ = False  # not a pytest test class


class NotSupportedError(TestbedError, NotImplementedError):
    """A fault this backend cannot inject; the message says which backend can."""


class Testbed(Protocol):
    """What scenarios, tests and the churn fuzzer drive."""

    backend: str

    def start(self) -> Testbed: ...
    def close(self) -> None: ...

    # The master's bus as this process reaches it: ipc:// in the master's private sock_dir
    # (local backend), or TCP through a published port with the CURVE keys the testbed made
    # for its own tools (docker backend; bus_curve None means no keys are needed).
    bus_pub: str
    bus_pull: str
    bus_curve: CurveClient | None

    def listener(self, timeout: float = 30.0) -> EventClient: ...
    def recorder(self, **options: Any) -> Recorder: ...
    def bus_tool_env(self) -> dict[str, str]: ...  # SALTSIM_* for a CLI tool on this host
    def client(self) -> MasterClient: ...
    def add_minion(self, minion_id: str, start: bool = True, **options: Any) -> None: ...
    def add_swarm(self, prefix: str, count: int, **options: Any) -> None: ...
    def start_minion(self, minion_id: str) -> None: ...
    def stop_minion(self, minion_id: str) -> None: ...
    def kill_minion(self, minion_id: str) -> None: ...
    def pause_minion(self, minion_id: str) -> None: ...
    def unpause_minion(self, minion_id: str) -> None: ...
    def disconnect_minion(self, minion_id: str) -> None: ...
    def reconnect_minion(self, minion_id: str) -> None: ...
    def restart_master(self) -> None: ...
    def logs(self, name: str) -> str: ...
    def start_cloud(self, **options: Any) -> str: ...  # cloud-sim's URL for the master

    @property
    def cloud_url_host(self) -> str: ...  # cloud-sim's URL for this process


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
