"""cloud-sim's instance state machine, driven by an explicit clock (no timers)."""

from __future__ import annotations

import itertools

import pytest
from saltsim_cloudsim.errors import InvalidState, NameInUse, NotFound, QuotaExceeded
from saltsim_cloudsim.ippool import IpPool
from saltsim_cloudsim.machine import LOST_REASON, USER_REASON, Fleet


def fleet(**options: float) -> Fleet:
    numbers = itertools.count(1)
    settings: dict[str, float] = {
        "provision_delay": 2.0,
        "boot_delay": 1.0,
        "shutdown_delay": 1.0,
        "terminated_ttl": 60.0,
        "max_instances": 3,
        **options,
    }
    return Fleet(
        **settings,  # type: ignore[arg-type]
        pool=IpPool("10.9.0.0/29"),
        new_id=lambda: f"i-{next(numbers):08x}",
    )


def test_pending_lasts_provision_and_boot_then_running_with_an_address() -> None:
    f = fleet()
    vm = f.create("vm1", "debian", "small", now=100.0)
    assert vm.view() == {
        "id": "i-00000001",
        "name": "vm1",
        "image": "debian",
        "size": "small",
        "state": "pending",
        "private_ip": None,
        "launch_time": vm.launch_time,
        "state_reason": None,
    }
    assert vm.launch_time.endswith("Z") and "T" in vm.launch_time
    assert f.get(vm.id, 102.99).state == "pending"
    changes = f.tick(103.0)
    assert [(c.old, c.new, c.at) for c in changes] == [("pending", "running", 103.0)]
    assert f.get(vm.id, 103.0).private_ip == "10.9.0.2"  # .1 is the gateway


def test_destroy_waits_for_the_delay_and_the_minion_then_terminates_and_purges() -> None:
    f = fleet()
    vm = f.create("vm1", "debian", "small", now=0.0)
    f.tick(3.0)
    assert f.destroy(vm.id, 10.0).state == "shutting-down"
    assert vm.state_reason == USER_REASON
    assert f.tick(20.0) == []  # the minion is still being stopped
    f.torn_down(vm.id, 25.0)
    [change] = f.tick(25.0)
    assert (change.old, change.new, change.at) == ("shutting-down", "terminated", 25.0)
    assert vm.private_ip == "10.9.0.2"  # still shown while listed
    assert [c.new for c in f.tick(84.9)] == []
    assert [c.new for c in f.tick(85.0)] == ["purged"]
    with pytest.raises(NotFound):
        f.get(vm.id, 85.0)
    assert "10.9.0.2" not in f.pool


def test_terminated_at_the_delay_when_the_minion_went_first() -> None:
    f = fleet(shutdown_delay=5.0)
    vm = f.create("vm1", "debian", "small", now=0.0)
    f.destroy(vm.id, 1.0)  # from pending
    f.torn_down(vm.id, 1.5)
    assert f.get(vm.id, 5.9).state == "shutting-down"
    [change] = f.tick(7.0)
    assert (change.new, change.at) == ("terminated", 6.0)


def test_one_late_tick_applies_every_change_in_order() -> None:
    f = fleet(terminated_ttl=10.0)
    vm = f.create("vm1", "debian", "small", now=0.0, fate="lost_during_boot")
    changes = f.tick(1000.0)
    assert [(c.old, c.new, c.at) for c in changes] == [
        ("pending", "terminated", 3.0),
        ("terminated", "purged", 13.0),
    ]
    assert vm.state_reason == LOST_REASON and vm.private_ip is None


def test_stuck_pending_never_runs_but_can_be_destroyed() -> None:
    f = fleet()
    vm = f.create("vm1", "debian", "small", now=0.0, fate="stuck_pending")
    assert f.get(vm.id, 1e6).state == "pending"
    f.destroy(vm.id, 1e6)
    f.torn_down(vm.id, 1e6)
    assert f.get(vm.id, 1e6 + 1).state == "terminated"


def test_names_are_unique_among_non_terminated_instances() -> None:
    f = fleet(shutdown_delay=0.0)
    vm = f.create("vm1", "debian", "small", now=0.0)
    with pytest.raises(NameInUse):
        f.create("vm1", "debian", "small", now=1.0)
    f.destroy(vm.id, 1.0)
    with pytest.raises(NameInUse):  # shutting-down still holds the name
        f.create("vm1", "debian", "small", now=1.0)
    f.torn_down(vm.id, 1.0)
    again = f.create("vm1", "debian", "small", now=1.0)
    assert again.id != vm.id and len(f.all(1.0)) == 2


def test_max_instances_counts_only_live_ones() -> None:
    f = fleet(max_instances=2, shutdown_delay=0.0)
    first = f.create("a", "debian", "small", now=0.0)
    f.create("b", "debian", "small", now=0.0)
    with pytest.raises(QuotaExceeded, match="limit reached: 2"):
        f.create("c", "debian", "small", now=0.0)
    f.destroy(first.id, 0.0)
    f.torn_down(first.id, 0.0)
    assert f.create("c", "debian", "small", now=0.0).state == "pending"


def test_an_empty_pool_refuses_the_create() -> None:
    f = fleet(max_instances=100)
    for number in range(5):  # a /29 has 6 hosts, less the gateway
        f.create(f"vm{number}", "debian", "small", now=0.0)
    with pytest.raises(QuotaExceeded, match="no free address"):
        f.create("vm5", "debian", "small", now=0.0)


def test_deploy_needs_running_and_no_minion_yet() -> None:
    f = fleet()
    vm = f.create("vm1", "debian", "small", now=0.0)
    with pytest.raises(InvalidState, match="is pending"):
        f.begin_deploy(vm.id, 1.0)
    f.begin_deploy(vm.id, 3.0)
    with pytest.raises(InvalidState, match="already has a minion"):
        f.begin_deploy(vm.id, 3.0)  # a deploy is under way
    f.end_deploy(vm.id, "4242")
    assert vm.minion == "4242"
    with pytest.raises(InvalidState, match="already has a minion"):
        f.begin_deploy(vm.id, 3.0)
    f.destroy(vm.id, 4.0)
    f.torn_down(vm.id, 4.0)
    assert vm.minion is None
    with pytest.raises(InvalidState, match="shutting-down"):
        f.begin_deploy(vm.id, 4.0)


def test_a_failed_deploy_can_be_retried() -> None:
    f = fleet()
    vm = f.create("vm1", "debian", "small", now=0.0)
    f.begin_deploy(vm.id, 3.0)
    f.end_deploy(vm.id, None)
    assert f.begin_deploy(vm.id, 3.0) is vm


def test_destroying_twice_changes_nothing_more() -> None:
    f = fleet()
    vm = f.create("vm1", "debian", "small", now=0.0)
    f.destroy(vm.id, 1.0)
    down_at = vm.down_at
    assert f.destroy(vm.id, 2.0).down_at == down_at
    with pytest.raises(NotFound):
        f.destroy("i-nothere", 2.0)
