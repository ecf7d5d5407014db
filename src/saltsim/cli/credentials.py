"""A master's client token and bus key for a host tool, from the container that serves it.

A master makes its local client token (Salt's ``.root_key``) and its bus key pair in its
pki_dir at the first start. On its own machine a tool reads them there. The master of the
compose stack keeps them in its container; the host's tools (``saltsim key``, ``cmd``,
``run``, ``run state.event`` with ``--master 127.0.0.1``) ask this machine's Docker engine
which running container publishes the master's address and port, and read the file in it
(``docker exec cat``, the channel ``docker compose exec`` uses). Only a user who can reach
the engine can do that, and such a user is root-equivalent anyway; nothing is copied to
the host's disk, so nothing goes stale when the stack is made again.
"""

from __future__ import annotations

import ipaddress
import logging
import posixpath
import socket
from collections.abc import Iterable, Mapping
from typing import Any

from saltsim.errors import SaltsimError
from saltsim.masterclient import MasterError, read_token

__all__ = ["CONTAINER_PKI", "client_token", "container_secret", "publishes"]

log = logging.getLogger(__name__)

# The master's pki_dir in the images (SALTSIM_PKI_DIR in docker-compose.yml), used when a
# container's environment does not say.
CONTAINER_PKI = "/var/lib/saltsim/master/pki"
_WILDCARDS = ("", "0.0.0.0", "::")


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(socket.gethostbyname(host)).is_loopback
    except (OSError, ValueError):
        return False


def publishes(ports: Iterable[Mapping[str, Any]], host: str, port: int) -> bool:
    """True when a container's published ports (the engine's ``Ports`` list of
    ``{IP, PrivatePort, PublicPort, Type}``) answer on ``host:port``: bound to that very
    address, or to every address (or to loopback) when ``host`` is this machine's loopback."""
    for binding in ports:
        if binding.get("Type", "tcp") != "tcp" or binding.get("PublicPort") != port:
            continue
        bound = str(binding.get("IP", ""))
        if bound == host:
            return True
        if _loopback(host) and (bound in _WILDCARDS or _loopback(bound)):
            return True
    return False


def _pki_dir(env: Iterable[str]) -> str:
    for entry in env:
        name, _, value = entry.partition("=")
        if name == "SALTSIM_PKI_DIR" and value:
            return value
    return CONTAINER_PKI


def _engine() -> Any:
    import docker  # the SDK, only where a tool asks the engine

    return docker.from_env(timeout=30)


def container_secret(host: str, port: int, name: str) -> tuple[bytes | None, str]:
    """The file ``name`` of the master's pki_dir in the running container that publishes
    ``host:port`` on this machine's engine, and a line saying where it was looked for.

    ``(None, why)`` when there is no engine to ask, or no container publishes that port:
    the caller goes on to what else it has. ``SaltsimError`` when the container is found
    but the file cannot be read in it (a master still starting has not made it yet)."""
    try:
        client = _engine()
        found = client.containers.list(sparse=True)
    except Exception as exc:  # the SDK raises several unrelated types for "no engine"
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return None, f"no Docker engine to ask which container publishes {host}:{port} ({reason})"
    try:
        for container in found:
            if publishes(container.attrs.get("Ports") or [], host, port):
                return _read(client, container, name), ""
        return None, f"no running container of this machine's engine publishes {host}:{port}"
    finally:
        client.close()


def _read(client: Any, container: Any, name: str) -> bytes:
    inspected = client.api.inspect_container(container.id)
    label = str(inspected.get("Name", container.id)).lstrip("/")
    path = posixpath.join(_pki_dir(inspected.get("Config", {}).get("Env") or []), name)
    code, (out, err) = container.exec_run(["cat", path], demux=True)
    if code != 0 or not out:
        said = (err or b"").decode(errors="replace").strip() or f"exit {code}"
        raise SaltsimError(
            f"cannot read {path} in container {label}, which publishes the master's port: "
            f"{said}; a master still starting has not made it yet (wait for it: "
            "docker compose exec -T master python3 -m saltsim.health master --wait 60)"
        )
    log.debug("read %s from container %s", path, label)
    return bytes(out)


def client_token(pki_dir: str, master: str = "", ret_port: int = 4506) -> str:
    """The token of the master a tool names: with ``master`` (``--master``,
    ``SALTSIM_MASTER``), the one in the container that publishes ``master:ret_port`` if
    there is one, else the one in ``pki_dir`` (a master of this machine's user)."""
    why = ""
    if master:
        found, why = container_secret(master, ret_port, "client_token")
        if found is not None:
            return found.decode().strip()
    try:
        return read_token(pki_dir)
    except MasterError as exc:
        if not why or "no such file" not in str(exc):
            raise
        raise MasterError(f"{exc}; and {why}") from None
