"""Private addresses for instances, from cloud-sim's own pool.

They are labels, as EC2's are to salt-cloud's caller: nothing dials them (the minions
reach the master over the testbed network or 127.0.0.1). The lowest free host address
is handed out first, skipping the network's first host (its gateway, by convention);
a released address is reused only after every never-used one, as a provider would
rather not hand a just-freed address straight to the next instance.
"""

from __future__ import annotations

import collections
import ipaddress
from collections.abc import Iterator

from saltsim_cloudsim.errors import QuotaExceeded

__all__ = ["IpPool"]


class IpPool:
    """Host addresses of ``cidr``, lowest never-used first, released ones last."""

    def __init__(self, cidr: str) -> None:
        self.network = ipaddress.ip_network(cidr)
        hosts = self.network.hosts()
        next(hosts)  # the gateway
        self._fresh: Iterator[ipaddress.IPv4Address | ipaddress.IPv6Address] = hosts
        self._released: collections.deque[str] = collections.deque()
        self._taken: set[str] = set()

    def allocate(self) -> str:
        """The next address; ``QuotaExceeded`` when the pool is empty."""
        for candidate in self._fresh:
            address = str(candidate)
            if address not in self._taken:
                self._taken.add(address)
                return address
        if self._released:
            address = self._released.popleft()
            self._taken.add(address)
            return address
        raise QuotaExceeded(f"no free address left in the pool {self.network}")

    def release(self, address: str) -> None:
        """Give ``address`` back; releasing one that is not taken does nothing."""
        if address in self._taken:
            self._taken.remove(address)
            self._released.append(address)

    def __contains__(self, address: object) -> bool:
        return address in self._taken

    def __len__(self) -> int:
        """How many addresses are taken."""
        return len(self._taken)
