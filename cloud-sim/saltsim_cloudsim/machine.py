"""The instances and their states, as a pure state machine driven by the caller's clock.

::

    pending ──(provision_delay + boot_delay)──► running ──DELETE──► shutting-down
       │  └─ stuck_pending: never leaves                               │ (shutdown_delay,
       │  └─ lost_during_boot: ──► terminated "lost during boot"       │  and the minion
       └──DELETE──► shutting-down                                      ▼  gone)
                                                          terminated ──(terminated_ttl)──► purged

``Fleet`` holds no timers: every call passes ``now`` (monotonic seconds) and ``tick(now)``
applies every change due by then, so a state read at any moment is exact and the unit
tests need no clock. The private address is reserved at create (so an empty pool is a
refusal there, not a surprise later), shown from ``running`` on, and released at purge.
"""

from __future__ import annotations

import dataclasses
import datetime
import secrets
from collections.abc import Callable
from typing import Any

from saltsim_cloudsim.errors import InvalidState, NameInUse, NotFound, QuotaExceeded
from saltsim_cloudsim.ippool import IpPool

__all__ = ["LOST_REASON", "STATES", "USER_REASON", "Fleet", "Instance", "Transition"]

STATES = ("pending", "running", "shutting-down", "terminated")
LOST_REASON = "lost during boot"
USER_REASON = "user initiated"
FATES = ("boot", "stuck_pending", "lost_during_boot")


def _instance_id() -> str:
    return f"i-{secrets.token_hex(4)}"


def _utc_now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat().replace("+00:00", "Z")


@dataclasses.dataclass
class Instance:
    """One instance: its contract fields (``view()``) and the timings that drive its state."""

    id: str
    name: str
    image: str
    size: str
    address: str  # reserved at create; shown as private_ip from running on
    launch_time: str
    pending_until: float
    fate: str = "boot"
    state: str = "pending"
    state_reason: str | None = None
    private_ip: str | None = None
    down_at: float | None = None  # end of shutdown_delay
    tearing_down: bool = False  # the minion is being stopped
    torn_down_at: float | None = None
    purge_at: float | None = None
    minion: str | None = None  # the backend's handle once deployed
    deploying: bool = False

    def view(self) -> dict[str, Any]:
        """The contract's instance object."""
        return {
            "id": self.id,
            "name": self.name,
            "image": self.image,
            "size": self.size,
            "state": self.state,
            "private_ip": self.private_ip,
            "launch_time": self.launch_time,
            "state_reason": self.state_reason,
        }


@dataclasses.dataclass(frozen=True)
class Transition:
    """One state change ``tick`` applied, at the moment it fell due."""

    instance_id: str
    name: str
    old: str
    new: str  # a state, or "purged"
    at: float


class Fleet:
    """Every instance and its addresses; the state machine above, driven by ``now``."""

    def __init__(
        self,
        *,
        provision_delay: float = 1.0,
        boot_delay: float = 0.0,
        shutdown_delay: float = 1.0,
        terminated_ttl: float = 60.0,
        max_instances: int = 20,
        pool: IpPool | None = None,
        new_id: Callable[[], str] = _instance_id,
    ) -> None:
        self.pending_delay = provision_delay + boot_delay
        self.shutdown_delay = shutdown_delay
        self.terminated_ttl = terminated_ttl
        self.max_instances = max_instances
        self.pool = pool if pool is not None else IpPool("10.254.0.0/16")
        self._new_id = new_id
        self._instances: dict[str, Instance] = {}

    # -- reads ------------------------------------------------------------------------
    def get(self, instance_id: str, now: float) -> Instance:
        self.tick(now)
        try:
            return self._instances[instance_id]
        except KeyError:
            raise NotFound(f"no instance {instance_id!r}") from None

    def all(self, now: float) -> list[Instance]:
        self.tick(now)
        return list(self._instances.values())

    def live(self) -> list[Instance]:
        """Instances that are not terminated (as of the last tick)."""
        return [i for i in self._instances.values() if i.state != "terminated"]

    # -- changes ----------------------------------------------------------------------
    def check_create(self, name: str, now: float) -> None:
        """``NameInUse`` if a non-terminated instance has ``name``."""
        self.tick(now)
        if any(i.name == name for i in self.live()):
            raise NameInUse(f"an instance named {name!r} exists and is not terminated")

    def create(self, name: str, image: str, size: str, now: float, fate: str = "boot") -> Instance:
        """A pending instance; ``NameInUse`` or ``QuotaExceeded`` instead."""
        if fate not in FATES:
            raise ValueError(f"fate must be one of {', '.join(FATES)}, not {fate!r}")
        self.check_create(name, now)
        if len(self.live()) >= self.max_instances:
            raise QuotaExceeded(
                f"instance limit reached: {self.max_instances} instances are not terminated"
            )
        instance_id = self._new_id()
        while instance_id in self._instances:
            instance_id = self._new_id()
        instance = Instance(
            id=instance_id,
            name=name,
            image=image,
            size=size,
            address=self.pool.allocate(),
            launch_time=_utc_now(),
            pending_until=now + self.pending_delay,
            fate=fate,
        )
        self._instances[instance_id] = instance
        return instance

    def destroy(self, instance_id: str, now: float) -> Instance:
        """pending or running → shutting-down (the caller then stops the minion and calls
        ``torn_down``); shutting-down and terminated stay as they are."""
        instance = self.get(instance_id, now)
        if instance.state in ("pending", "running"):
            instance.state = "shutting-down"
            instance.state_reason = USER_REASON
            instance.down_at = now + self.shutdown_delay
            instance.tearing_down = True
        return instance

    def begin_deploy(self, instance_id: str, now: float) -> Instance:
        """Claim a running instance without a minion for a deploy; ``InvalidState`` else."""
        instance = self.get(instance_id, now)
        if instance.state != "running":
            raise InvalidState(
                f"instance {instance_id} is {instance.state}; deploy needs it running"
            )
        if instance.minion is not None or instance.deploying:
            raise InvalidState(f"instance {instance_id} already has a minion")
        instance.deploying = True
        return instance

    def end_deploy(self, instance_id: str, handle: str | None) -> None:
        """The deploy is over: ``handle`` is the started minion, None if it failed."""
        instance = self._instances.get(instance_id)
        if instance is not None:
            instance.deploying = False
            instance.minion = handle

    def torn_down(self, instance_id: str, now: float) -> None:
        """The instance's minion (if any) is gone; it may now reach terminated."""
        instance = self._instances.get(instance_id)
        if instance is not None and instance.tearing_down:
            instance.tearing_down = False
            instance.torn_down_at = now
            instance.minion = None

    def tick(self, now: float) -> list[Transition]:
        """Apply every change due by ``now``, in order; the changes made."""
        changes: list[Transition] = []
        for instance in list(self._instances.values()):
            while (step := self._step(instance, now)) is not None:
                changes.append(step)
                if step.new == "purged":
                    break
        return changes

    def _step(self, instance: Instance, now: float) -> Transition | None:
        old = instance.state
        if old == "pending" and instance.fate != "stuck_pending":
            if now < instance.pending_until:
                return None
            at = instance.pending_until
            if instance.fate == "lost_during_boot":
                self._terminate(instance, at, LOST_REASON)
            else:
                instance.state, instance.private_ip = "running", instance.address
        elif old == "shutting-down":
            assert instance.down_at is not None
            if now < instance.down_at or instance.tearing_down:
                return None
            at = max(instance.down_at, instance.torn_down_at or instance.down_at)
            self._terminate(instance, at, instance.state_reason)
        elif old == "terminated":
            assert instance.purge_at is not None
            if now < instance.purge_at:
                return None
            at = instance.purge_at
            del self._instances[instance.id]
            self.pool.release(instance.address)
            return Transition(instance.id, instance.name, old, "purged", at)
        else:
            return None
        return Transition(instance.id, instance.name, old, instance.state, at)

    def _terminate(self, instance: Instance, at: float, reason: str | None) -> None:
        instance.state, instance.state_reason = "terminated", reason
        instance.purge_at = at + self.terminated_ttl

    def __len__(self) -> int:
        return len(self._instances)
