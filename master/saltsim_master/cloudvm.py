"""One VM's create and destroy as salt-cloud drives a provider, with its events.

Create fires ``salt/cloud/<name>/`` ``creating``, ``requesting``, ``querying``,
``waiting_for_ssh``, ``deploying``, ``created``, each ``{"event": <message>, ...}``
as docs/EVENTS.md; destroy fires ``destroying`` and ``destroyed``. A failure fires
saltsim's own ``salt/cloud/<name>/error`` ``{"event": "create failed" | "destroy failed",
"stage": <the last stage fired>, "error": "<code>: <message>"}`` and undoes what the
create made: the instance is deleted and a pre-seeded key removed.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any, Protocol

from cryptography.hazmat.primitives import serialization

from saltsim.crypto import KeyPair
from saltsim.deadline import Deadline
from saltsim_master.cloudapi import ProviderClient, ProviderError
from saltsim_master.cloudconfig import CloudProvider
from saltsim_master.cloudnodes import NodeIndex
from saltsim_master.config import MasterConfig
from saltsim_master.keys import KeyStore

__all__ = ["VmFailed", "VmHost", "VmSpec", "create_vm", "destroy_vm"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class VmSpec:
    """What to create: a profile's settings (``profile`` is ``None`` for ``cloud.create``)."""

    name: str
    profile: str | None
    provider: CloudProvider
    image: str
    size: str
    preaccept: bool = True
    delete_key: bool = True
    minion: dict[str, Any] = field(default_factory=dict)


class VmFailed(Exception):
    """A VM's create or destroy failed at ``stage`` with the provider's ``error``."""

    def __init__(self, name: str, stage: str | None, error: str, note: str = "") -> None:
        self.name, self.stage, self.error = name, stage, error
        where = f" at {stage}" if stage else ""
        super().__init__(f"{name} failed{where}: {error}{note}")


class VmHost(Protocol):
    """What one VM's create and destroy need of the cloud subsystem (``cloud.Cloud``)."""

    @property
    def config(self) -> MasterConfig: ...
    @property
    def keys(self) -> KeyStore: ...
    @property
    def nodes(self) -> NodeIndex: ...
    def fire(self, tag: str, data: dict[str, Any]) -> None: ...
    def minion_master(self, provider: CloudProvider) -> tuple[str, int]: ...
    def hold_auth(self, name: str) -> None: ...
    def release_auth(self, name: str) -> None: ...
    def node_view(self, instance: dict[str, Any]) -> dict[str, Any]: ...
    def delete_key(self, name: str) -> object: ...


def _private_pem(pair: KeyPair) -> str:
    return pair.private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()


class _Stages:
    """Fires one VM's stage events and remembers the last one."""

    def __init__(self, cloud: VmHost, name: str) -> None:
        self.cloud, self.name = cloud, name
        self.stage: str | None = None

    def fire(self, stage: str, message: str, **args: Any) -> None:
        self.stage = stage
        self.cloud.fire(f"salt/cloud/{self.name}/{stage}", {"event": message, **args})

    def error(self, what: str, error: str) -> None:
        data = {"event": what, "stage": self.stage, "error": error}
        self.cloud.fire(f"salt/cloud/{self.name}/error", data)


async def _until(
    cloud: VmHost, api: ProviderClient, instance: dict[str, Any], want: str
) -> dict[str, Any]:
    """Query the instance until it is in state ``want``, within ``cloud_timeout``."""
    config = cloud.config
    deadline = Deadline(config.cloud_timeout)
    while True:
        state = instance.get("state")
        if state == want:
            return instance
        if want == "running" and state in ("shutting-down", "terminated"):
            reason = instance.get("state_reason") or "no reason given"
            raise ProviderError(
                "InstanceTerminated", f"instance {instance['id']} is {state}: {reason}"
            )
        if deadline.expired:
            raise ProviderError(
                "Timeout",
                f"instance {instance['id']} still {state} after {config.cloud_timeout:g}s "
                f"(cloud_timeout), waiting for {want}",
            )
        await asyncio.sleep(min(config.cloud_poll_interval, deadline.remaining()))
        instance = await api.describe(instance["id"])


async def create_vm(cloud: VmHost, api: ProviderClient, vm: VmSpec) -> dict[str, Any]:
    """Create, boot and deploy one VM; ``VmFailed`` (after the error event and the
    cleanup) when the provider fails. Returns the node as ``cloud.list_nodes`` shows it."""
    stages = _Stages(cloud, vm.name)
    instance: dict[str, Any] | None = None
    pair: KeyPair | None = None
    try:
        stages.fire(
            "creating",
            "starting create",
            name=vm.name,
            profile=vm.profile,
            provider=vm.provider.name,
            driver=vm.provider.driver,
        )
        request = {"name": vm.name, "image": vm.image, "size": vm.size}
        stages.fire("requesting", "requesting instance", **request)
        instance = await api.create(vm.name, vm.image, vm.size)
        stages.fire("querying", "querying instance", instance_id=instance["id"])
        instance = await _until(cloud, api, instance, "running")
        stages.fire("waiting_for_ssh", "waiting for ssh", ip_address=instance.get("private_ip"))
        master, port = cloud.minion_master(vm.provider)
        options = {"dialect": cloud.config.dialect, **vm.minion}
        deploy: dict[str, Any] = {"master": master, "master_port": port, "minion_id": vm.name}
        deploy["options"] = options
        secrets: dict[str, Any] = {"pem": None, "pub": None}
        if vm.preaccept:
            pair = await asyncio.to_thread(KeyPair.generate)
            secrets = {"pem": _private_pem(pair), "pub": pair.public_pem}
        # The new minion's sign-in waits for `created` (docs/EVENTS.md: after created, it signs in).
        cloud.hold_auth(vm.name)
        if pair is not None:
            cloud.keys.remove(vm.name)
            cloud.keys.put("accepted", vm.name, pair.public_pem)
        stages.fire("deploying", "executing deploy script", **deploy)
        await api.deploy(instance["id"], {**deploy, **secrets})
        stages.fire(
            "created",
            "created instance",
            name=vm.name,
            profile=vm.profile,
            provider=vm.provider.name,
            driver=vm.provider.driver,
            instance_id=instance["id"],
        )
    except Exception as exc:  # a provider failure, or a bug: either way, undo
        error = str(exc) if isinstance(exc, ProviderError) else f"{type(exc).__name__}: {exc}"
        stages.error("create failed", error)
        note = await _undo(cloud, api, vm.name, instance, pair)
        raise VmFailed(vm.name, stages.stage, error, note) from exc
    finally:
        cloud.release_auth(vm.name)
    cloud.nodes.save(vm, instance["id"])
    return cloud.node_view(instance)


async def _undo(
    cloud: VmHost,
    api: ProviderClient,
    name: str,
    instance: dict[str, Any] | None,
    pair: KeyPair | None,
) -> str:
    """Remove what a failed create made; a problem on the way is returned as a note."""
    note = ""
    if pair is not None and cloud.keys.pub(name, "accepted") == pair.public_pem:
        cloud.keys.remove(name)  # pre-seeded without an event, removed without one
    if instance is not None and instance.get("state") != "terminated":
        try:
            await api.destroy(instance["id"])
        except ProviderError as exc:
            if exc.code != "NotFound":
                log.error("cleanup of %s: could not delete %s: %s", name, instance["id"], exc)
                note = f" (cleanup: could not delete instance {instance['id']}: {exc})"
    return note


async def destroy_vm(
    cloud: VmHost, api: ProviderClient, name: str, instance: dict[str, Any], delete_key: bool
) -> dict[str, Any]:
    """Destroy one VM. With ``delete_key`` the minion's key is deleted through the master's
    key actions (``salt/key`` delete) once the instance is terminated, so the minion
    cannot sign in again in between."""
    stages = _Stages(cloud, name)
    try:
        stages.fire("destroying", "destroying instance", name=name)
        instance = await api.destroy(instance["id"])
        stages.fire("destroyed", "destroyed instance", name=name)
        cloud.nodes.forget(name)
        if delete_key:
            try:
                instance = await _until(cloud, api, instance, "terminated")
            except ProviderError as exc:
                if exc.code != "NotFound":  # terminated and already gone from the list
                    raise
            cloud.delete_key(name)
    except ProviderError as exc:
        stages.error("destroy failed", str(exc))
        kept = " (its key was kept)" if delete_key and stages.stage == "destroyed" else ""
        raise VmFailed(name, stages.stage, str(exc), kept) from exc
    return {"instance_id": instance["id"], "state": instance.get("state")}
