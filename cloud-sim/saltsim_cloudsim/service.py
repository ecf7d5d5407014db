"""The provider's behaviour behind the HTTP API: the fleet, the faults and the backend.

Every operation reads the clock once and ticks the fleet to it, so a state is exact at
any request. A destroy answers at once; a background task stops the minion (after any
deploy still under way on that instance: one lock per instance) and lets the instance
reach ``terminated``. ``close()`` stops every minion.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from saltsim_cloudsim.backend import Backend
from saltsim_cloudsim.bodies import CreateBody, DeployBody, FaultBody
from saltsim_cloudsim.config import CloudSimConfig
from saltsim_cloudsim.errors import InternalError, InvalidState, QuotaExceeded
from saltsim_cloudsim.faults import FaultBook
from saltsim_cloudsim.ippool import IpPool
from saltsim_cloudsim.machine import Fleet, Instance

__all__ = ["CloudService"]

log = logging.getLogger(__name__)


class CloudService:
    """The provider: a ``Fleet`` on the service's clock, the ``FaultBook`` and a ``Backend``.

    The HTTP server calls one method per API operation; each ticks the fleet first.
    """

    def __init__(
        self,
        config: CloudSimConfig,
        backend: Backend,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.backend = backend
        self.clock = clock
        self.fleet = Fleet(
            provision_delay=config.provision_delay,
            boot_delay=config.boot_delay,
            shutdown_delay=config.shutdown_delay,
            terminated_ttl=config.terminated_ttl,
            max_instances=config.max_instances,
            pool=IpPool(config.ip_pool),
        )
        self.faults = FaultBook()
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._teardowns: set[asyncio.Task[None]] = set()

    def tick(self) -> None:
        """Apply (and log) every state change due now."""
        for change in self.fleet.tick(self.clock()):
            log.info("%s (%s): %s -> %s", change.instance_id, change.name, change.old, change.new)
            if change.new == "purged":
                self._locks.pop(change.instance_id, None)

    # -- instances --------------------------------------------------------------------
    def create(self, body: CreateBody) -> Instance:
        self.tick()
        self.fleet.check_create(body.name, self.clock())
        kind = self.faults.draw()
        if kind == "quota":
            raise QuotaExceeded("instance quota exceeded (injected fault)")
        if kind == "create_error":
            raise InternalError("the provider failed to create the instance (injected fault)")
        fate = kind or "boot"
        instance = self.fleet.create(body.name, body.image, body.size, self.clock(), fate)
        log.info(
            "%s (%s): created, pending%s",
            instance.id,
            instance.name,
            f" ({fate}, injected)" if kind else "",
        )
        return instance

    def get(self, instance_id: str) -> Instance:
        self.tick()
        return self.fleet.get(instance_id, self.clock())

    def instances(self) -> list[Instance]:
        self.tick()
        return self.fleet.all(self.clock())

    async def deploy(self, instance_id: str, body: DeployBody) -> tuple[Instance, str]:
        """Start the instance's minion; the instance and the minion's handle."""
        self.tick()
        if self.fleet.get(instance_id, self.clock()).state == "running" and self.faults.draw(
            "deploy"
        ):
            raise InternalError("deploy script failed (injected fault)")
        instance = self.fleet.begin_deploy(instance_id, self.clock())
        handle: str | None = None
        async with self._locks[instance_id]:
            try:
                handle = await self.backend.start(instance, body)
            finally:
                self.fleet.end_deploy(instance_id, handle)
        if instance.state != "running":  # destroyed while the minion started
            raise InvalidState(f"instance {instance_id} was destroyed during the deploy")
        return instance, handle

    def destroy(self, instance_id: str) -> Instance:
        self.tick()
        before = self.fleet.get(instance_id, self.clock()).state
        instance = self.fleet.destroy(instance_id, self.clock())
        if before != instance.state:
            log.info("%s (%s): %s -> shutting-down", instance.id, instance.name, before)
            task = asyncio.ensure_future(self._teardown(instance))
            self._teardowns.add(task)
            task.add_done_callback(self._teardowns.discard)
        return instance

    async def _teardown(self, instance: Instance) -> None:
        async with self._locks[instance.id]:
            if instance.minion is not None:
                try:
                    await self.backend.stop(instance, instance.minion)
                except Exception:  # the instance must still reach terminated
                    log.exception("%s: stopping minion %s failed", instance.id, instance.minion)
            self.fleet.torn_down(instance.id, self.clock())
        self.tick()

    # -- faults and health ------------------------------------------------------------
    def add_fault(self, body: FaultBody) -> dict[str, Any]:
        fault = self.faults.add(body.kind, count=body.count, rate=body.rate, seed=body.seed)
        log.info("fault %s added: %s", fault.id, fault.view())
        return fault.view()

    def health(self) -> dict[str, Any]:
        return {"ok": True, "backend": self.backend.name, "instances": len(self.instances())}

    async def run_ticker(self) -> None:
        """Log state changes as they fall due, between requests too."""
        while True:
            await asyncio.sleep(self.config.tick_interval)
            self.tick()

    async def close(self) -> None:
        """Wait for the teardowns under way, then stop every minion left."""
        if self._teardowns:
            await asyncio.gather(*self._teardowns, return_exceptions=True)
        await self.backend.close()
