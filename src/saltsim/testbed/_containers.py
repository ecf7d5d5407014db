"""Faults on a backend whose every minion is a container of its own (docker, salt).

The backend says how to find a minion's container and the network the minions share;
the faults themselves are the same Docker calls whatever runs inside the container.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ContainerFaults"]


class ContainerFaults:
    """The minion faults and exit codes of a backend whose minions are containers: the
    backend supplies ``_container(handle)`` and ``_minion_network()``."""

    def _container(self, minion_id: str) -> Any:
        raise NotImplementedError

    def _minion_network(self) -> Any:
        raise NotImplementedError

    def start_minion(self, minion_id: str) -> None:
        self._container(minion_id).start()

    def stop_minion(self, minion_id: str) -> None:
        self._container(minion_id).stop(timeout=10)

    def kill_minion(self, minion_id: str) -> None:
        self._container(minion_id).kill()

    def pause_minion(self, minion_id: str) -> None:
        self._container(minion_id).pause()

    def unpause_minion(self, minion_id: str) -> None:
        self._container(minion_id).unpause()

    def disconnect_minion(self, minion_id: str) -> None:
        self._minion_network().disconnect(self._container(minion_id), force=True)

    def reconnect_minion(self, minion_id: str) -> None:
        self._minion_network().connect(self._container(minion_id))

    def minion_exit_code(self, minion_id: str, timeout: float = 10.0) -> int:
        result: dict[str, Any] = self._container(minion_id).wait(timeout=timeout)
        return int(result["StatusCode"])
