"""The VMs this master created: ``<cachedir>/cloud/nodes/<name>.json``, salt-cloud's cache index.

Each record keeps the provider, driver, profile, instance id and whether destroying the
VM deletes its key, so ``cloud.destroy`` finds a VM after a master restart.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Protocol

from saltsim_master.cloudconfig import CloudProvider

__all__ = ["NodeIndex", "NodeSpec"]


class NodeSpec(Protocol):
    """What the index records of a VM (``cloudvm.VmSpec``)."""

    @property
    def name(self) -> str: ...
    @property
    def profile(self) -> str | None: ...
    @property
    def delete_key(self) -> bool: ...
    @property
    def provider(self) -> CloudProvider: ...


class NodeIndex:
    """The VMs this master created, one JSON file each, surviving restarts."""

    def __init__(self, cachedir: str | Path) -> None:
        self.root = Path(cachedir) / "cloud" / "nodes"
        self.root.mkdir(parents=True, exist_ok=True)

    def save(self, vm: NodeSpec, instance_id: str) -> None:
        record = {
            "name": vm.name,
            "instance_id": instance_id,
            "provider": vm.provider.name,
            "driver": vm.provider.driver,
            "profile": vm.profile,
            "delete_key": vm.delete_key,
        }
        (self.root / f"{vm.name}.json").write_text(json.dumps(record))

    def get(self, name: str) -> dict[str, Any] | None:
        try:
            record: dict[str, Any] = json.loads((self.root / f"{name}.json").read_text())
        except (OSError, ValueError):
            return None
        return record

    def forget(self, name: str) -> None:
        (self.root / f"{name}.json").unlink(missing_ok=True)
