"""The minion's settings: one YAML file, ``SALTSIM_*`` environment, explicit arguments."""

from __future__ import annotations

import dataclasses
import socket
from typing import Any

from saltsim.errors import ConfigError
from saltsim.minionipc import default_pki_dir
from saltsim.stamp import DIALECTS

__all__ = ["MinionConfig"]


@dataclasses.dataclass(frozen=True)
class MinionConfig:
    id: str = ""  # empty: the host name, as Salt
    master: str = "127.0.0.1"
    master_port: int = 4506  # the master's request server
    pki_dir: str = ""  # empty: <per-user private base>/minion/<id>/pki, made 0700
    acceptance_wait_time: float = 2.0  # retry interval while the key is pending
    rejected_wait: float = 1.0  # a rejected minion exits after this, as rejected_retry: False
    heartbeat_interval: float = 2.0
    request_timeout: float = 5.0
    dialect: str = "3008"  # only changes the saltversion grain
    grains: dict[str, Any] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.dialect not in DIALECTS:
            raise ConfigError(f"dialect must be one of {', '.join(DIALECTS)}, not {self.dialect!r}")
        if not self.id:
            object.__setattr__(self, "id", socket.gethostname())
        if not self.pki_dir:
            object.__setattr__(self, "pki_dir", default_pki_dir(self.id))
        if min(self.acceptance_wait_time, self.heartbeat_interval, self.request_timeout) <= 0:
            raise ConfigError(
                "acceptance_wait_time, heartbeat_interval and request_timeout must be positive"
            )

    def address(self, port: int) -> str:
        return f"tcp://{self.master}:{port}"
