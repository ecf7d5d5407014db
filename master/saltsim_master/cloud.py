"""The cloud runner (salt-cloud through ``salt-run cloud.*``) and the master's cloud state.

Runners: ``cloud.profile PROFILE NAME [NAME ...]``, ``cloud.create PROVIDER NAME [NAME ...]
image=I size=S``, ``cloud.destroy NAME [NAME ...]``, ``cloud.list_nodes [provider=P]``,
``cloud.query [query_type=list_nodes|list_nodes_full|list_nodes_min]``. Several VMs are
created (or destroyed) in parallel: their events interleave, each VM's keep their order.
A VM that fails makes the whole runner fail (``success: false``) with every VM's reason.

The master keeps what it created in ``<cachedir>/cloud/nodes/<name>.json`` (provider,
profile, instance id, whether destroying deletes the key), as salt-cloud's cache index.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from saltsim_master.cloudapi import ProviderClient, ProviderError
from saltsim_master.cloudconfig import CloudProvider, parse_profiles, parse_providers
from saltsim_master.cloudnodes import NodeIndex
from saltsim_master.cloudvm import VmFailed, VmSpec, create_vm, destroy_vm
from saltsim_master.config import MasterConfig
from saltsim_master.errors import RunnerError
from saltsim_master.keys import KeyStore, valid_id
from saltsim_master.registry import Registry
from saltsim_master.runners import RunnerGroup

__all__ = ["CLOUD_RUNNERS", "Cloud", "CloudContext"]

log = logging.getLogger(__name__)
_ALL_INTERFACES = ("", "0.0.0.0", "::")
_QUERY_TYPES = ("list_nodes", "list_nodes_full", "list_nodes_min")


class CloudContext(Protocol):
    """What the cloud needs of the core."""

    @property
    def config(self) -> MasterConfig: ...
    @property
    def keys(self) -> KeyStore: ...
    @property
    def addresses(self) -> dict[str, str]: ...
    def fire(self, tag: str, data: dict[str, Any]) -> None: ...


class Cloud:
    """The master's cloud subsystem: configured providers and profiles, the node index, and
    the sign-in gate that keeps a new VM's minion from signing in before ``created``.

    ``delete_key(name)`` deletes a destroyed VM's key as salt-key does (``salt/key``)."""

    def __init__(self, ctx: CloudContext, delete_key: Callable[[str], object]) -> None:
        self.ctx = ctx
        self.delete_key = delete_key
        self.providers = parse_providers(ctx.config.cloud_providers)
        self.profiles = parse_profiles(ctx.config.cloud_profiles, self.providers)
        self.nodes = NodeIndex(ctx.config.cachedir)
        self._gates: dict[str, asyncio.Event] = {}

    def register(self, registry: Registry) -> None:
        registry.add_sign_in_gate(self.auth_gate)

    @property
    def config(self) -> MasterConfig:
        return self.ctx.config

    @property
    def keys(self) -> KeyStore:
        return self.ctx.keys

    def fire(self, tag: str, data: dict[str, Any]) -> None:
        self.ctx.fire(tag, data)

    def minion_master(self, provider: CloudProvider) -> tuple[str, int]:
        """Where the new minions find the master (see cloudconfig.py)."""
        config = self.ctx.config
        host = provider.minion_master or config.interface
        if host in _ALL_INTERFACES:
            host = socket.gethostname()
        port = provider.minion_master_port
        if port is None:
            bound = self.ctx.addresses.get("ret", "")
            port = int(bound.rsplit(":", 1)[1]) if bound else config.ret_port
        return host, port

    # -- the sign-in gate -----------------------------------------------------------
    def hold_auth(self, name: str) -> None:
        self._gates.setdefault(name, asyncio.Event())

    def release_auth(self, name: str) -> None:
        gate = self._gates.pop(name, None)
        if gate is not None:
            gate.set()

    def auth_gate(self, minion_id: Any) -> asyncio.Event | None:
        """The event a sign-in of ``minion_id`` must wait for, if its VM is being deployed."""
        return self._gates.get(minion_id) if isinstance(minion_id, str) else None

    # -- helpers of the runners -----------------------------------------------------
    @staticmethod
    def node_view(instance: dict[str, Any]) -> dict[str, Any]:
        """A node as salt-cloud's ``list_nodes`` shows it."""
        ip = instance.get("private_ip")
        return {
            "id": instance.get("id"),
            "image": instance.get("image"),
            "size": instance.get("size"),
            "state": instance.get("state"),
            "private_ips": [ip] if ip else [],
            "public_ips": [],
        }

    def provider(self, name: Any) -> CloudProvider:
        if name not in self.providers:
            known = ", ".join(sorted(self.providers)) or "none configured (cloud_providers)"
            raise RunnerError(f"no cloud provider {name!r}; known: {known}")
        return self.providers[name]


def _names(fun: str, names: tuple[Any, ...], instances: Any) -> list[str]:
    """VM names from positional arguments and/or ``instances=`` (a name or a list)."""
    listed = list(names)
    if instances is not None:
        listed += instances if isinstance(instances, list) else [instances]
    if not listed:
        raise RunnerError(f"{fun} needs at least one VM name")
    for name in listed:
        if not valid_id(name):
            raise RunnerError(f"{fun}: {name!r} cannot be a VM (minion) name")
    duplicates = sorted({n for n in listed if listed.count(n) > 1})
    if duplicates:
        raise RunnerError(f"{fun}: {', '.join(duplicates)} named twice")
    return [str(n) for n in listed]


async def _each(
    fun: str,
    names: list[str],
    action: Callable[[str], Awaitable[dict[str, Any]]],
    done_word: str,
) -> dict[str, Any]:
    """``action`` for every name in parallel; one failure fails the runner, naming all."""

    async def one(name: str) -> tuple[str, dict[str, Any] | None, str | None]:
        try:
            return name, await action(name), None
        except (VmFailed, RunnerError) as exc:
            return name, None, str(exc)

    results = await asyncio.gather(*(one(name) for name in names))
    failures = [error for _, _, error in results if error is not None]
    if failures:
        done = [name for name, result, _ in results if result is not None]
        tail = f"; {done_word}: {', '.join(done)}" if done else ""
        raise RunnerError(f"{fun}: {'; '.join(failures)}{tail}")
    return {name: result for name, result, _ in results}


async def _create_all(cloud: Cloud, fun: str, vms: list[VmSpec]) -> dict[str, Any]:
    specs = {vm.name: vm for vm in vms}
    async with contextlib.AsyncExitStack() as stack:
        apis = {
            name: await stack.enter_async_context(ProviderClient(provider.url))
            for name, provider in {vm.provider.name: vm.provider for vm in vms}.items()
        }

        async def create(name: str) -> dict[str, Any]:
            vm = specs[name]
            return await create_vm(cloud, apis[vm.provider.name], vm)

        return await _each(fun, list(specs), create, "created")


CLOUD_RUNNERS = RunnerGroup["Cloud"]()


@CLOUD_RUNNERS.runner("cloud.profile")
async def profile(
    cloud: Cloud, prof: Any = None, *names: Any, instances: Any = None
) -> dict[str, Any]:
    """``cloud.profile PROFILE NAME [NAME ...]``: create VMs from a profile, in parallel."""
    if prof is None:
        raise RunnerError("cloud.profile needs a profile and VM names: PROFILE NAME [NAME ...]")
    if prof not in cloud.profiles:
        known = ", ".join(sorted(cloud.profiles)) or "none configured (cloud_profiles)"
        raise RunnerError(f"no cloud profile {prof!r}; known: {known}")
    spec = cloud.profiles[prof]
    provider = cloud.provider(spec.provider)
    vms = [
        VmSpec(
            name,
            spec.name,
            provider,
            spec.image,
            spec.size,
            spec.preaccept,
            spec.delete_key,
            spec.minion,
        )
        for name in _names("cloud.profile", names, instances)
    ]
    return await _create_all(cloud, "cloud.profile", vms)


@CLOUD_RUNNERS.runner("cloud.create")
async def create(
    cloud: Cloud,
    provider: Any = None,
    *names: Any,
    instances: Any = None,
    image: Any = None,
    size: Any = None,
    preaccept: Any = True,
    delete_key: Any = True,
    minion: Any = None,
) -> dict[str, Any]:
    """``cloud.create PROVIDER NAME [NAME ...] image=I size=S``: VMs without a profile."""
    chosen = cloud.provider(provider)
    for key, value in (("image", image), ("size", size)):
        if not isinstance(value, str) or not value:
            raise RunnerError(f"cloud.create needs {key}=... (a non-empty string)")
    if not isinstance(preaccept, bool) or not isinstance(delete_key, bool):
        raise RunnerError("cloud.create: preaccept and delete_key must be True or False")
    if minion is not None and not isinstance(minion, dict):
        raise RunnerError("cloud.create: minion must be a mapping of minion options")
    vms = [
        VmSpec(name, None, chosen, image, size, preaccept, delete_key, dict(minion or {}))
        for name in _names("cloud.create", names, instances)
    ]
    return await _create_all(cloud, "cloud.create", vms)


async def _locate(
    cloud: Cloud, api_of: Callable[[CloudProvider], Awaitable[ProviderClient]], name: str
) -> tuple[CloudProvider, dict[str, Any], bool]:
    """The VM's provider, its live instance and whether destroying deletes its key: from the
    node index, else by asking every provider for a pending or running instance so named."""
    record = cloud.nodes.get(name)
    if record is not None and record.get("provider") in cloud.providers:
        provider = cloud.providers[record["provider"]]
        try:
            instance = await (await api_of(provider)).describe(str(record.get("instance_id")))
        except ProviderError as exc:
            if exc.code != "NotFound":
                raise VmFailed(name, None, str(exc)) from exc
        else:
            if instance.get("state") in ("pending", "running"):
                return provider, instance, bool(record.get("delete_key", True))
    unanswered = []
    for provider in cloud.providers.values():
        try:
            listed = await (await api_of(provider)).instances()
        except ProviderError as exc:
            unanswered.append(f"{provider.name}: {exc}")
            continue
        for instance in listed:
            if instance.get("name") == name and instance.get("state") in ("pending", "running"):
                return provider, instance, True
    note = f" (no answer from {'; '.join(unanswered)})" if unanswered else ""
    raise VmFailed(name, None, f"no pending or running instance of that name{note}")


@CLOUD_RUNNERS.runner("cloud.destroy")
async def destroy(cloud: Cloud, *names: Any, instances: Any = None) -> dict[str, Any]:
    """``cloud.destroy NAME [NAME ...]``: destroy VMs in parallel (deleting their keys
    when their profile says so)."""
    chosen = _names("cloud.destroy", names, instances)
    async with contextlib.AsyncExitStack() as stack:
        apis: dict[str, ProviderClient] = {}

        async def api_of(provider: CloudProvider) -> ProviderClient:
            if provider.name not in apis:
                client = ProviderClient(provider.url)
                apis[provider.name] = await stack.enter_async_context(client)
            return apis[provider.name]

        async def one(name: str) -> dict[str, Any]:
            provider, instance, delete_key = await _locate(cloud, api_of, name)
            api = await api_of(provider)
            return await destroy_vm(cloud, api, name, instance, delete_key)

        return await _each("cloud.destroy", chosen, one, "destroyed")


async def _listing(cloud: Cloud, provider: Any = None) -> dict[str, list[dict[str, Any]]]:
    """Every provider's instances. A provider named by ``provider`` that fails fails the
    runner; asked among all, it lists nothing (logged), as salt-cloud does."""
    chosen = [cloud.provider(provider)] if provider is not None else cloud.providers.values()
    listing = {}
    for each in chosen:
        try:
            async with ProviderClient(each.url) as api:
                listing[each.name] = await api.instances()
        except ProviderError as exc:
            if provider is not None:
                raise RunnerError(f"cloud provider {each.name}: {exc}") from exc
            log.error("cloud provider %s lists nothing: %s", each.name, exc)
            listing[each.name] = []
    return listing


def _by_name(instances: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Instances by name; a live instance wins over a terminated one of the same name."""
    named: dict[str, dict[str, Any]] = {}
    for instance in instances:
        name = str(instance.get("name"))
        if name not in named or named[name].get("state") == "terminated":
            named[name] = instance
    return named


@CLOUD_RUNNERS.runner("cloud.list_nodes")
async def list_nodes(cloud: Cloud, provider: Any = None) -> dict[str, Any]:
    """``cloud.list_nodes [provider=P]``: ``{provider: {driver: {name: node}}}``."""
    return await query(cloud, "list_nodes", provider=provider)


@CLOUD_RUNNERS.runner("cloud.query")
async def query(
    cloud: Cloud, query_type: Any = "list_nodes", provider: Any = None
) -> dict[str, Any]:
    """``cloud.query [query_type=...]``: list_nodes, list_nodes_full (the provider's whole
    instance objects) or list_nodes_min (id and state)."""
    if query_type not in _QUERY_TYPES:
        raise RunnerError(f"cloud.query: query_type must be one of {', '.join(_QUERY_TYPES)}")
    result: dict[str, Any] = {}
    for name, instances in (await _listing(cloud, provider)).items():
        nodes = _by_name(instances)
        if query_type == "list_nodes":
            shown = {n: cloud.node_view(i) for n, i in nodes.items()}
        elif query_type == "list_nodes_min":
            shown = {n: {"id": i.get("id"), "state": i.get("state")} for n, i in nodes.items()}
        else:
            shown = nodes
        result[name] = {cloud.providers[name].driver: shown}
    return result
