"""The testbed interface both backends implement (local processes, docker containers)."""

from __future__ import annotations

from typing import Any, Protocol

from saltsim.client import EventClient
from saltsim.errors import SaltsimError
from saltsim.masterclient import MasterClient

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

    bus_pub: str
    bus_pull: str

    def listener(self, timeout: float = 30.0) -> EventClient: ...
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
    """The master bus as both backends reach it: ports on 127.0.0.1 (``self.ports``)."""

    ports: dict[str, int]

    @property
    def bus_pub(self) -> str:
        return f"tcp://127.0.0.1:{self.ports['bus_pub_port']}"

    @property
    def bus_pull(self) -> str:
        return f"tcp://127.0.0.1:{self.ports['bus_pull_port']}"

    def listener(self, timeout: float = 30.0) -> EventClient:
        """An event client on the master bus, armed (it provably receives) on return."""
        client = EventClient(self.bus_pub, self.bus_pull)
        try:
            client.wait_ready(timeout)
        except BaseException:
            client.close()
            raise
        return client
