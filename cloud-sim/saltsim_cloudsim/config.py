"""cloud-sim's settings: defaults < YAML file < ``SALTSIM_CLOUD_*`` environment < arguments.

The environment prefix is ``SALTSIM_CLOUD_`` rather than saltsim's ``SALTSIM_`` so the
provider's options never mix with the minion options (``SALTSIM_MASTER``, ...) that the
same environment may carry.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from saltsim.config import ENV_PREFIX, load_config
from saltsim.errors import ConfigError

__all__ = ["BACKENDS", "ENV_PREFIX_CLOUD", "CloudSimConfig", "load_cloudsim_config"]

ENV_PREFIX_CLOUD = "SALTSIM_CLOUD_"
BACKENDS = ("local", "docker")


@dataclasses.dataclass(frozen=True)
class CloudSimConfig:
    """Every setting of the fake provider, with its default."""

    host: str = "127.0.0.1"  # the compose file sets 0.0.0.0 inside the container
    port: int = 8080
    backend: str = "local"  # "local": minion processes; "docker": minion containers
    # instance life: pending for provision_delay + boot_delay, then running (or lost)
    provision_delay: float = 1.0  # the provider allocating the VM
    boot_delay: float = 0.0  # the VM booting; lost_during_boot strikes at its end
    shutdown_delay: float = 1.0  # shutting-down lasts at least this long
    terminated_ttl: float = 60.0  # terminated instances stay listed this long
    max_instances: int = 20  # non-terminated instances at once; more: QuotaExceeded
    ip_pool: str = "10.254.0.0/16"  # private_ip labels; nothing dials them
    tick_interval: float = 0.2  # how often state changes are logged without a request
    # local backend
    workdir: str = ""  # empty: /tmp/saltsim-cloudsim; one folder per instance below it
    python: str = ""  # the minions' interpreter; empty: the one running cloud-sim
    minion_stop_timeout: float = 5.0  # SIGTERM, then SIGKILL after this
    # docker backend (empty: read from cloud-sim's own container)
    minion_image: str = "saltsim-minion:latest"
    network: str = ""  # the testbed network the VM containers join
    session: str = ""  # the org.saltsim.session label value
    name_prefix: str = ""  # containers are <name_prefix>-vm-<name>; empty: the project

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise ConfigError(f"backend must be one of {', '.join(BACKENDS)}, not {self.backend!r}")
        delays = {
            "provision_delay": self.provision_delay,
            "boot_delay": self.boot_delay,
            "shutdown_delay": self.shutdown_delay,
            "terminated_ttl": self.terminated_ttl,
            "minion_stop_timeout": self.minion_stop_timeout,
        }
        for name, value in delays.items():
            if value < 0:
                raise ConfigError(f"{name} must not be negative, not {value}")
        if self.tick_interval <= 0:
            raise ConfigError(f"tick_interval must be positive, not {self.tick_interval}")
        if self.max_instances < 0:
            raise ConfigError(f"max_instances must not be negative, not {self.max_instances}")
        if not 0 <= self.port <= 65535:
            raise ConfigError(f"port must be 0..65535, not {self.port}")
        try:
            network = ipaddress.ip_network(self.ip_pool)
        except ValueError as exc:
            raise ConfigError(f"ip_pool: {exc}") from exc
        if network.num_addresses < 4:
            raise ConfigError(f"ip_pool {self.ip_pool} is too small (at least a /30)")

    @property
    def workdir_path(self) -> Path:
        return Path(self.workdir or "/tmp/saltsim-cloudsim")


def load_cloudsim_config(
    path: str | Path | None = None, *, env: Mapping[str, str] | None = None, **overrides: Any
) -> CloudSimConfig:
    """``load_config`` with ``SALTSIM_CLOUD_<FIELD>`` read as ``SALTSIM_<FIELD>``."""
    environ = os.environ if env is None else env
    renamed = {
        ENV_PREFIX + key[len(ENV_PREFIX_CLOUD) :]: value
        for key, value in environ.items()
        if key.startswith(ENV_PREFIX_CLOUD)
    }
    return load_config(CloudSimConfig, path, env=renamed, **overrides)
