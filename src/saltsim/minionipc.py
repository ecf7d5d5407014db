"""A minion's local event socket: how ``saltsim event send`` fires as that minion.

Salt's ``salt-call event.send`` is a process of its own beside the minion daemon, with
the minion's key: it signs in (``salt/auth`` accept), refreshes its data
(``minion/refresh/<id>``), sends the event as an authenticated ``_minion_event`` (the
master wraps it: ``{"id", "cmd": "_minion_event", "pretag", "data", "tag", "ts"}``, the
data carrying ``__pub_fun``, ``__pub_pid``, ``__pub_jid``, ``__pub_tgt``), then its return
(``salt/job/<jid>/ret/<id>``, no ``new`` before it). saltsim's minion daemon does those
steps for the local caller (docs/EVENTS.md "Minion events"): a single minion (not a swarm)
binds a ZeroMQ ROUTER at ``ipc://<pki_dir>/../minion.ipc``, readable and writable by its
own user only, and answers each request with the master's verdict.

Request: msgpack ``{"cmd": "fire", "tag": str, "data": dict, "fun_args": [str, ...]}``
(``fun_args``, optional: the command line's arguments, as salt-call reports them).
Reply: ``{"ok": true, "id": <minion id>, "jid": <the return's jid>}`` or
``{"ok": false, "error": <why>}``.
"""

from __future__ import annotations

import os
import socket
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import zmq

from saltsim.deadline import Deadline
from saltsim.errors import FrameError, SaltsimError
from saltsim.wire import decode_data, encode_data, pack_frame

__all__ = [
    "SOCKET_NAME",
    "MinionIPCError",
    "auto_socket",
    "default_pki_dir",
    "find_socket",
    "fire_via_minion",
    "is_listening",
    "parse_request",
    "socket_path",
]

SOCKET_NAME = "minion.ipc"


class MinionIPCError(SaltsimError, ConnectionError):
    """No minion answers on its local socket (not running, a swarm, or too slow)."""


def default_pki_dir(minion_id: str) -> str:
    """A minion's key folder when its config names none (``MinionConfig`` uses this):
    under the per-user private base (``saltsim.private.default_base``), made 0700."""
    from saltsim.private import default_base

    return str(default_base() / "minion" / minion_id / "pki")


def socket_path(pki_dir: str | Path) -> Path:
    """Beside the key folder, so each minion has its own: ``<pki_dir>/../minion.ipc``."""
    return Path(pki_dir).absolute().parent / SOCKET_NAME


def is_listening(path: Path) -> bool:
    """True when a process accepts connections on the unix socket ``path`` (not a stale file)."""
    try:
        if not stat.S_ISSOCK(path.stat().st_mode):
            return False
    except OSError:
        return False
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(str(path))
    except OSError:
        return False
    finally:
        probe.close()
    return True


def find_socket(where: str) -> Path:
    """``--minion WHERE``: a socket file, a key folder (or the folder above it), or an id."""
    path = Path(where)
    if path.suffix == ".ipc" or (path.exists() and not path.is_dir()):
        return path.absolute()
    if path.is_dir():
        inside = path / SOCKET_NAME
        return inside.absolute() if inside.exists() else socket_path(path)
    if "/" in where:
        raise MinionIPCError(f"{where}: no such minion folder or socket")
    return socket_path(default_pki_dir(where))


def auto_socket(env: Mapping[str, str] | None = None) -> Path | None:
    """The socket of the minion this machine runs, as its environment configures it
    (``SALTSIM_PKI_DIR``, else ``SALTSIM_ID``, else the host name, as ``MinionConfig``),
    if a minion listens there; None sends ``saltsim event send`` to the master bus."""
    environ = os.environ if env is None else env
    pki_dir = environ.get("SALTSIM_PKI_DIR") or default_pki_dir(
        environ.get("SALTSIM_ID") or socket.gethostname()
    )
    path = socket_path(pki_dir)
    return path if is_listening(path) else None


def parse_request(body: bytes) -> tuple[str, dict[Any, Any], list[Any]]:
    """``(tag, data, fun_args)`` of a fire request; ``FrameError`` for anything else."""
    load = decode_data(body)
    if load.get("cmd") != "fire":
        raise FrameError(f"unknown cmd {load.get('cmd')!r}; only 'fire'")
    tag, data = load.get("tag"), load.get("data")
    if not isinstance(data, dict):
        raise FrameError(f"event data must be a map, not {type(data).__name__}")
    pack_frame(tag, data)  # type: ignore[arg-type]  # the bus's own checks: tag and payload
    fun_args = load.get("fun_args", [tag])
    if not isinstance(fun_args, list):
        raise FrameError(f"fun_args must be a list, not {type(fun_args).__name__}")
    return str(tag), data, fun_args


def fire_via_minion(
    path: Path,
    tag: str,
    data: dict[Any, Any],
    timeout: float,
    fun_args: list[Any] | None = None,
) -> dict[Any, Any]:
    """Ask the minion at ``path`` to fire; its reply, or ``MinionIPCError``."""
    pack_frame(tag, data)  # refuse a bad tag or payload here, before any socket
    if not is_listening(path):
        raise MinionIPCError(
            f"no minion listens at {path}: is the minion running? (single minions open it; "
            "swarms do not)"
        )
    context = zmq.Context()
    sock = context.socket(zmq.DEALER)
    try:
        sock.setsockopt(zmq.LINGER, 0)
        sock.connect(f"ipc://{path}")
        request = {"cmd": "fire", "tag": tag, "data": data, "fun_args": fun_args or [tag]}
        sock.send(encode_data(request))
        deadline = Deadline(timeout)
        while (remaining := deadline.remaining()) > 0:
            if sock.poll(int(remaining * 1000) + 1):
                return decode_data(sock.recv())
        raise MinionIPCError(
            f"the minion at {path} did not answer within {timeout:.1f}s: "
            "is it connected to its master, and its key accepted?"
        )
    finally:
        sock.close()
        context.term()
