"""A client of a running master (Salt's LocalClient / RunnerClient / salt-key in one).

It speaks to the master's request server with the master's local client token
(Salt's ``.root_key``) and, for ``cmd``, listens on the event bus for returns,
armed before the publication so no return can slip past.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import zmq

from saltsim.client import EventClient
from saltsim.curve import CurveClient
from saltsim.deadline import Deadline
from saltsim.errors import ConfigError, SaltsimError
from saltsim.private import read_secret
from saltsim.wire import decode_data, encode_data

__all__ = ["MasterClient", "MasterError", "read_token"]


class MasterError(SaltsimError):
    """The master refused a client request, or did not answer in time."""


def read_token(pki_dir: str | Path) -> str:
    """The master's client token; ``ConfigError`` for one that is a symlink, another
    user's or readable by others (``saltsim.private.read_secret``)."""
    path = Path(pki_dir) / "client_token"
    try:
        token = read_secret(path)
    except ConfigError as exc:
        raise MasterError(str(exc)) from exc
    if token is None:
        raise MasterError(
            f"cannot read the master's client token {path}: no such file; "
            "is the master running with this pki_dir?"
        )
    return token.decode().strip()


class MasterClient:
    """One master's request port, as its local client (``salt``, ``salt-run``, ``salt-key``).

    ``call`` sends one request (``enc: client`` with the master's token) and waits for its
    answer with one deadline; ``publish``, ``cmd``, ``runner`` and ``key`` are the
    commands built on it. ``cmd`` also needs the bus (``bus_pub``, ``bus_pull`` and, over
    TCP with CURVE, ``bus_curve``) to gather the returns. A context manager; it owns its
    socket and context.
    """

    def __init__(
        self,
        ret_address: str,
        token: str,
        *,
        bus_pub: str = "",
        bus_pull: str = "",
        bus_curve: CurveClient | None = None,
        timeout: float = 30.0,
    ) -> None:
        self.ret_address = ret_address
        self.bus_pub, self.bus_pull = bus_pub, bus_pull
        self.bus_curve = bus_curve
        self.timeout = timeout
        self._token = token
        self._ctx = zmq.Context()
        self._sock = self._ctx.socket(zmq.DEALER)
        self._sock.setsockopt(zmq.LINGER, 0)
        self._sock.connect(ret_address)
        self._rid = itertools.count(1)

    def close(self) -> None:
        self._sock.close(0)
        self._ctx.term()

    def __enter__(self) -> MasterClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def call(self, load: dict[str, Any], timeout: float | None = None) -> dict[str, Any]:
        """One request; ``MasterError`` for a refusal or no answer within ``timeout``."""
        rid = next(self._rid)
        self._sock.send(
            encode_data({"enc": "client", "token": self._token, "rid": rid, "load": load})
        )
        deadline = Deadline(self.timeout if timeout is None else timeout)
        while (remaining := deadline.remaining()) > 0:
            if not self._sock.poll(int(remaining * 1000) + 1):
                continue
            reply = decode_data(self._sock.recv())
            if reply.get("rid") not in (rid, None):
                continue  # a late answer to an earlier, timed-out request
            if not reply.get("ok"):
                raise MasterError(f"master refused {load.get('cmd')}: {reply.get('error')}")
            return reply
        raise MasterError(
            f"no answer from the master at {self.ret_address} within "
            f"{self.timeout if timeout is None else timeout:.1f}s"
        )

    # -- jobs -----------------------------------------------------------------------
    @staticmethod
    def job_args(arg: list[Any], kwarg: dict[str, Any] | None) -> list[Any]:
        return [*arg, {"__kwarg__": True, **kwarg}] if kwarg else list(arg)

    def publish(
        self,
        tgt: Any,
        fun: str,
        arg: list[Any] | None = None,
        kwarg: dict[str, Any] | None = None,
        tgt_type: str = "glob",
        user: str = "root",
    ) -> dict[str, Any]:
        load = {
            "cmd": "publish",
            "tgt": tgt,
            "tgt_type": tgt_type,
            "fun": fun,
            "arg": self.job_args(list(arg or []), kwarg),
            "user": user,
        }
        return self.call(load)

    def cmd(
        self,
        tgt: Any,
        fun: str,
        arg: list[Any] | None = None,
        kwarg: dict[str, Any] | None = None,
        tgt_type: str = "glob",
        timeout: float = 5.0,
    ) -> tuple[dict[str, Any], list[str]]:
        """Publish and gather returns: ``({id: ret}, expected ids)``."""
        if not self.bus_pub:
            raise MasterError("cmd needs the master's event bus address to gather returns")
        with EventClient(self.bus_pub, self.bus_pull, curve=self.bus_curve) as events:
            events.wait_ready(10)
            events.subscribe("salt/job/")
            published = self.publish(tgt, fun, arg, kwarg, tgt_type)
            jid, expected = published["jid"], list(published["minions"])
            returns: dict[str, Any] = {}
            deadline = Deadline(timeout)
            prefix = f"salt/job/{jid}/ret/"
            while jid and set(expected) - set(returns):
                remaining = deadline.remaining()
                if remaining <= 0:
                    break
                event = events.next_event(remaining, prefix)
                if event is not None:
                    returns[event.data["id"]] = event.data
        return returns, expected

    def runner(
        self, fun: str, arg: list[Any] | None = None, kwarg: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        return self.call(
            {"cmd": "runner", "fun": fun, "arg": list(arg or []), "kwarg": kwarg or {}},
            timeout=max(self.timeout, 3600),
        )

    def key(self, fun: str, match: str = "*", **flags: Any) -> dict[str, list[str]]:
        keys: dict[str, list[str]] = self.call({"cmd": "key", "fun": fun, "match": match, **flags})[
            "keys"
        ]
        return keys
