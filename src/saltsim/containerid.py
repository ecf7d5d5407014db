"""A containerised minion's id, derived from its container's name.

Replicas of one compose service share every setting, so the id cannot come from
the environment. Docker's embedded DNS answers a reverse lookup of the
container's own address with its name (``saltsim_minion_3`` under Compose v1,
``saltsim-minion-3`` under v2, ``stack_minion.3.<task>`` under Swarm); the
service and replica number in it give ``minion-3``. The testbed controller
derives the same id from the compose labels, so both sides agree without talking.
"""

from __future__ import annotations

import re
import socket

from saltsim.errors import ConfigError

__all__ = ["container_name", "id_from_container_name", "service_replica_id"]

_REPLICA = re.compile(r"(?:^|[_.-])(?P<service>[a-z][a-z0-9]*)[_.-](?P<number>\d+)(?:[_.-]|$)")


def service_replica_id(service: str, number: int | str) -> str:
    """The id of replica ``number`` of compose service ``service``: ``minion-3``."""
    return f"{service}-{int(number)}"


def id_from_container_name(name: str, service: str) -> str:
    """``minion-3`` from any engine's name for replica 3 of ``service``; else the name."""
    for match in _REPLICA.finditer(name):
        if match["service"] == service:
            return service_replica_id(service, match["number"])
    return name.split(".", 1)[0]


def container_name() -> str:
    """This container's name: the PTR record of its own address, asked of the DNS
    server in resolv.conf (Docker's). The libc resolver would answer from
    /etc/hosts, which maps the address to the container id, not the name."""
    import dns.exception
    import dns.resolver

    hostname = socket.gethostname()
    try:
        address = socket.gethostbyname(hostname)
        answer = dns.resolver.resolve_address(address, lifetime=10)
        name = str(answer[0]).rstrip(".")
    except (OSError, dns.exception.DNSException) as exc:
        raise ConfigError(
            f"cannot derive a minion id from the container name ({hostname}: {exc}); "
            "set SALTSIM_ID or pass --id"
        ) from exc
    return name
