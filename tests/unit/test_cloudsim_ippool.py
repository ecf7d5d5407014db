"""cloud-sim's address pool."""

from __future__ import annotations

import pytest
from saltsim_cloudsim.errors import QuotaExceeded
from saltsim_cloudsim.ippool import IpPool


def test_lowest_first_skipping_the_gateway() -> None:
    pool = IpPool("10.254.0.0/16")
    assert [pool.allocate() for _ in range(3)] == ["10.254.0.2", "10.254.0.3", "10.254.0.4"]
    assert len(pool) == 3 and "10.254.0.3" in pool


def test_released_addresses_come_back_after_the_fresh_ones() -> None:
    pool = IpPool("192.168.5.0/29")  # hosts .1-.6, .1 the gateway
    taken = [pool.allocate() for _ in range(3)]
    pool.release(taken[0])
    pool.release("192.168.5.200")  # not taken: nothing happens
    assert [pool.allocate() for _ in range(3)] == ["192.168.5.5", "192.168.5.6", taken[0]]
    with pytest.raises(QuotaExceeded, match=r"192\.168\.5\.0/29"):
        pool.allocate()


def test_addresses_are_never_handed_out_twice() -> None:
    pool = IpPool("10.0.0.0/28")
    seen = set()
    for _ in range(100):
        address = pool.allocate()
        assert address not in seen
        seen.add(address)
        if len(seen) == 5:
            for old in list(seen)[:3]:
                pool.release(old)
                seen.discard(old)
    assert len(pool) == len(seen)
