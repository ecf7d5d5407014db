"""cloud-sim's service with a fake backend and a fake clock: deploy, destroy, faults, and a
destroy that arrives while the minion is still starting."""

from __future__ import annotations

import asyncio

import pytest
from saltsim_cloudsim.bodies import CreateBody, DeployBody, FaultBody
from saltsim_cloudsim.config import CloudSimConfig
from saltsim_cloudsim.errors import InternalError, InvalidState, QuotaExceeded
from saltsim_cloudsim.machine import Instance
from saltsim_cloudsim.service import CloudService


class FakeBackend:
    name = "fake"

    def __init__(self) -> None:
        self.started: list[str] = []
        self.stopped: list[str] = []
        self.gate: asyncio.Event | None = None  # hold start() until set
        self.entered = asyncio.Event()  # set once start() is running
        self.fail = False
        self.closed = False

    async def start(self, instance: Instance, deploy: DeployBody) -> str:
        self.entered.set()
        if self.gate is not None:
            await self.gate.wait()
        if self.fail:
            raise InternalError("no such image")
        self.started.append(deploy.minion_id)
        return f"handle-{deploy.minion_id}"

    async def stop(self, instance: Instance, handle: str) -> None:
        self.stopped.append(handle)

    async def close(self) -> None:
        self.closed = True


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def service() -> tuple[CloudService, FakeBackend, Clock]:
    backend, clock = FakeBackend(), Clock()
    config = CloudSimConfig(provision_delay=1.0, shutdown_delay=1.0, max_instances=5)
    return CloudService(config, backend, clock), backend, clock


DEPLOY = DeployBody("master", 4506, "vm1")


def test_deploy_then_destroy_stops_the_minion_before_terminated() -> None:
    async def scenario() -> None:
        svc, backend, clock = service()
        vm = svc.create(CreateBody("vm1", "debian", "small"))
        clock.now = 1.0
        instance, handle = await svc.deploy(vm.id, DEPLOY)
        assert (instance.state, handle, backend.started) == ("running", "handle-vm1", ["vm1"])
        svc.destroy(vm.id)
        assert svc.get(vm.id).state == "shutting-down"
        await asyncio.gather(*svc._teardowns)
        assert backend.stopped == ["handle-vm1"]
        assert svc.get(vm.id).state == "shutting-down"  # the delay has not passed
        clock.now = 2.0
        assert svc.get(vm.id).state == "terminated"
        assert svc.health() == {"ok": True, "backend": "fake", "instances": 1}
        await svc.close()
        assert backend.closed

    asyncio.run(scenario())


def test_a_destroy_during_the_deploy_waits_for_it_then_stops_the_minion() -> None:
    async def scenario() -> None:
        svc, backend, clock = service()
        backend.gate = asyncio.Event()
        vm = svc.create(CreateBody("vm1", "debian", "small"))
        clock.now = 5.0
        deploying = asyncio.ensure_future(svc.deploy(vm.id, DEPLOY))
        await backend.entered.wait()  # the deploy is inside the backend now
        svc.destroy(vm.id)
        backend.gate.set()
        with pytest.raises(InvalidState, match="destroyed during the deploy"):
            await deploying
        await asyncio.gather(*svc._teardowns)
        assert backend.stopped == ["handle-vm1"]  # the minion that did start is stopped
        clock.now = 10.0
        assert svc.get(vm.id).state == "terminated"

    asyncio.run(scenario())


def test_a_failed_deploy_leaves_the_instance_running_for_a_retry() -> None:
    async def scenario() -> None:
        svc, backend, clock = service()
        vm = svc.create(CreateBody("vm1", "debian", "small"))
        clock.now = 1.0
        backend.fail = True
        with pytest.raises(InternalError):
            await svc.deploy(vm.id, DEPLOY)
        backend.fail = False
        assert (await svc.deploy(vm.id, DEPLOY))[1] == "handle-vm1"

    asyncio.run(scenario())


def test_injected_faults_decide_the_create() -> None:
    svc, _, clock = service()
    svc.add_fault(FaultBody("quota", count=1))
    with pytest.raises(QuotaExceeded, match="injected"):
        svc.create(CreateBody("a", "debian", "small"))
    svc.add_fault(FaultBody("create_error", count=1))
    with pytest.raises(InternalError, match="injected"):
        svc.create(CreateBody("a", "debian", "small"))
    svc.add_fault(FaultBody("stuck_pending", count=1))
    svc.add_fault(FaultBody("lost_during_boot", count=1))  # drawn by the same create, too
    stuck = svc.create(CreateBody("a", "debian", "small"))
    normal = svc.create(CreateBody("b", "debian", "small"))
    clock.now = 100.0
    assert (svc.get(stuck.id).state, svc.get(normal.id).state) == ("pending", "running")
