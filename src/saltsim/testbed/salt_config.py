"""A scenario's master and minion settings as real Salt's configuration files.

Options Salt shares with saltsim are written as they are; saltsim-only options (heartbeats,
the bus hold, the API, ...) have no Salt meaning and are left out, each reported once;
anything else is taken for a Salt option and passed through (Salt ignores what it does
not know, as it would in a hand-written config).
"""

from __future__ import annotations

from typing import Any

import yaml

__all__ = ["SALTSIM_ONLY", "master_config", "minion_config"]

# Options only saltsim's own master or minion reads (their config dataclasses).
SALTSIM_ONLY = frozenset(
    {
        "dialect",
        "heartbeat_interval",
        "heartbeat_timeout",
        "bus_hold",
        "bus_hwm",
        "bus_remote",
        "bus_curve_clients",
        "max_load_size",
        "job_timeout",
        "refuse_reserved_minion_tags",
        "cloud_providers",
        "cloud_profiles",
        "cloud_timeout",
        "cloud_poll_interval",
    }
)
_SALTSIM_PREFIXES = ("api_", "bus_", "heartbeat_")
# Set by the backend itself (addresses and paths inside the containers).
_FIXED = frozenset({"interface", "master", "id", "pki_dir", "cachedir", "sock_dir", "user"})


def _split(options: dict[str, Any], what: str) -> tuple[dict[str, Any], list[str]]:
    kept: dict[str, Any] = {}
    ignored: list[str] = []
    for key, value in options.items():
        if key in _FIXED:
            raise ValueError(f"the salt backend sets {what} option {key!r} itself")
        if key in SALTSIM_ONLY or key.startswith(_SALTSIM_PREFIXES):
            ignored.append(key)
        else:
            kept[key] = value
    return kept, ignored


def master_config(options: dict[str, Any]) -> tuple[str, list[str]]:
    """``/etc/salt/master.d/saltsim.conf`` and the saltsim-only options it leaves out."""
    kept, ignored = _split(options, "master")
    config = {"interface": "0.0.0.0", "user": "root", **kept}
    return yaml.safe_dump(config, sort_keys=True), ignored


def minion_config(minion_id: str, master: str, options: dict[str, Any]) -> tuple[str, list[str]]:
    """``/etc/salt/minion.d/saltsim.conf`` for one minion container."""
    kept, ignored = _split(options, "minion")
    config = {"id": minion_id, "master": master, "user": "root", **kept}
    return yaml.safe_dump(config, sort_keys=True), ignored
