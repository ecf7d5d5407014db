"""The master's core: the sockets, the one publish path, and the tables parts register into.

The core owns the event bus, the request ROUTER and the job PUB socket, the key store,
the minion sessions and the request edge. It knows no part: each part (sign-in, key
actions, presence, jobs, runners, cloud, REST API) receives a narrow context typed
with a ``Protocol`` of what it uses, which the core satisfies, and registers itself:

- client commands in ``commands`` (one table for the request port and the REST API);
- minion request commands (``_pillar``, ``_return``, ...) with ``add_minion_command``;
- the ``_auth`` handler with ``on_sign_in``, and sign-in gates with ``add_sign_in_gate``
  (a sign-in waits for the gate's event, as a VM's minion for its cloud ``created``);
- maintenance tick hooks with ``add_tick``, run in registration order;
- services with a socket of their own (the REST API) with ``add_service``;
- stats with ``add_stats``.

``saltsim_master.__main__`` is the one place that builds the parts and wires them in.
Every subsystem fires through ``MasterCore.fire`` (the one publish path); the bus
stamps ``_stamp`` and ``_seq``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import zmq
import zmq.asyncio

from saltsim.bus import EventBus
from saltsim.client import EventClient
from saltsim.config import bus_ipc_addresses
from saltsim.curve import CurveServer, load_or_create_keypair
from saltsim.errors import FrameError
from saltsim.private import private_dir, read_or_create_secret
from saltsim.targeting import TargetError
from saltsim.wire import encode_data
from saltsim_master.commands import CommandTable, UnknownCommand
from saltsim_master.config import MasterConfig
from saltsim_master.failures import Failures
from saltsim_master.jobs import JidMaker
from saltsim_master.keys import KeyStore, valid_id
from saltsim_master.registry import MinionCommand, Service, SignIn, SignInGate, Tick
from saltsim_master.reqserver import Refused, RequestEdge
from saltsim_master.sessions import Session, Sessions

__all__ = ["MasterCore", "load_token"]

log = logging.getLogger("saltsim_master.master")
# Requests served back to back before the loop yields to its other tasks (presence, clients).
_REQUEST_BATCH = 64


def load_token(pki_dir: Path) -> str:
    """The local client token (Salt's ``.root_key``): a 0600 file beside the keys. One
    found with another owner, loose mode or as a symlink is refused (``ConfigError``):
    a planted token would let its planter run jobs."""
    token = read_or_create_secret(
        pki_dir / "client_token", lambda: secrets.token_urlsafe(32).encode()
    )
    return token.decode().strip()


def _make_bus(config: MasterConfig, bus_class: type[EventBus]) -> EventBus:
    """The bus on ipc:// in sock_dir; with ``bus_remote`` also on interface:ports, CURVE
    with the key pair kept in pki_dir unless plain was asked for."""
    remote = curve = None
    if config.bus_remote != "off":
        remote = (config.address(config.bus_pull_port), config.address(config.bus_pub_port))
    if config.bus_remote == "curve":
        pki = Path(config.pki_dir)
        public, secret = load_or_create_keypair(pki / "bus.key", pki / "bus.pub")
        curve = CurveServer.of(public, secret, config.bus_curve_clients)
        if not curve.clients:
            log.warning("bus_remote: curve with no bus_curve_clients: nobody can connect")
    return bus_class(
        *bus_ipc_addresses(config.sock_dir),
        dialect=config.dialect,
        hwm=config.bus_hwm,
        hold=config.bus_hold,
        remote=remote,
        curve=curve,
    )


class MasterCore:
    """One asyncio process around the bus, the request server and the job publisher.

    ``sessions`` and ``bus_class`` are hooks for ``saltsim_master.bugs`` (the churn
    fuzzer's deliberately broken masters); a real master takes the defaults.
    """

    def __init__(
        self,
        config: MasterConfig,
        *,
        sessions: Sessions | None = None,
        bus_class: type[EventBus] = EventBus,
    ) -> None:
        self.config = config
        for folder in (config.pki_dir, config.cachedir, config.sock_dir):
            private_dir(folder)  # 0700, ours; ConfigError for one someone else could write
        self.keys = KeyStore(config.pki_dir)
        self.sessions = sessions if sessions is not None else Sessions()
        # The caches (grains, jobs) are written behind, in order, by one thread: creating a
        # file takes 0.1-0.3 ms here, most of a _pillar request's cost during a start-up storm.
        self.cache_writer = ThreadPoolExecutor(1, thread_name_prefix="saltsim-cache")
        self.make_jid = JidMaker()
        self.client_token = load_token(Path(config.pki_dir))
        self.edge = RequestEdge(self.sessions, config.max_load_size, self.client_token)
        self.edge.signs_in_again = lambda minion_id: (
            valid_id(minion_id) and self.keys.state(minion_id) == "accepted"
        )
        self.failures = Failures(self.edge)
        self.fire_failures = 0
        self.addresses: dict[str, str] = {}
        # What the parts register.
        self._commands = CommandTable()
        self._minion_commands: dict[str, MinionCommand] = {}
        self._sign_in: SignIn | None = None
        self._gates: list[SignInGate] = []
        self._ticks: list[Tick] = []
        self._services: list[Service] = []
        self._stats: dict[str, Callable[[], Any]] = {}
        self._commands.register("info", self._info)
        self._commands.register("stats", self._stats_command)
        # The sockets.
        self.context = zmq.asyncio.Context()
        self.bus = _make_bus(config, bus_class)
        self._firer: EventClient | None = None
        self._router = self.context.socket(zmq.ROUTER)
        self._pub = self.context.socket(zmq.PUB)
        for sock in (self._router, self._pub):
            sock.setsockopt(zmq.LINGER, 0)
        self._router.setsockopt(zmq.MAXMSGSIZE, max(config.max_load_size * 4, 1 << 20))
        self._router.setsockopt(zmq.ROUTER_HANDOVER, 1)
        # The same socket without asyncio futures, for draining queued requests and for
        # replies: a ROUTER send never blocks (an unroutable reply is dropped).
        self._router_now: zmq.Socket[Any] = zmq.Socket.shadow(self._router.underlying)
        self._tasks: set[asyncio.Task[Any]] = set()

    # -- registration (saltsim_master.registry.Registry) -------------------------------
    @property
    def commands(self) -> CommandTable:
        """The client commands: the request port's ``cmd``, the REST API's clients."""
        return self._commands

    def add_minion_command(self, name: str, handler: MinionCommand) -> None:
        """A request an authenticated minion may make (its load's ``cmd``)."""
        if name in self._minion_commands:
            raise ValueError(f"minion command {name!r} is registered twice")
        self._minion_commands[name] = handler

    def on_sign_in(self, handler: SignIn) -> None:
        """The ``_auth`` handler (there is one)."""
        self._sign_in = handler

    def add_sign_in_gate(self, gate: SignInGate) -> None:
        """``gate(minion_id)``: an event a sign-in of that id must wait for, or None."""
        self._gates.append(gate)

    def add_tick(self, hook: Tick) -> None:
        """Run ``hook`` at every maintenance tick, after those registered before it."""
        self._ticks.append(hook)

    def add_service(self, service: Service) -> None:
        self._services.append(service)

    def add_stats(self, name: str, source: Callable[[], Any]) -> None:
        self._stats[name] = source

    # -- the one publish path ---------------------------------------------------------
    def fire(self, tag: str, data: dict[str, Any]) -> None:
        assert self._firer is not None, "fire() before start()"
        if not self._firer.fire_event(data, tag):
            self.fire_failures += 1
            log.error("bus did not take %s within the fire timeout", tag)

    def publish(self, load: dict[str, Any]) -> None:
        """Send a job's load to every minion, sealed with the publish key."""
        sealed = self.sessions.publish_cipher.seal(load)
        self._pub.send(encode_data({"enc": "aes", "load": sealed}))

    # -- lifecycle --------------------------------------------------------------------
    def start(self) -> dict[str, str]:
        """Bind everything; returns the real addresses (ports may be 0 in the config)."""
        cfg = self.config
        bus_pull, bus_pub = self.bus.bind()
        self.bus.start()
        self._firer = EventClient(bus_pub, bus_pull, listen=False)
        self._router.bind(cfg.address(cfg.ret_port))
        self._pub.bind(cfg.address(cfg.publish_port))
        ret = self._router.getsockopt_string(zmq.LAST_ENDPOINT)
        pub = self._pub.getsockopt_string(zmq.LAST_ENDPOINT)
        self.addresses = {"ret": ret, "publish": pub, "bus_pub": bus_pub, "bus_pull": bus_pull}
        if self.bus.remote_pub_address:
            self.addresses["bus_remote_pub"] = self.bus.remote_pub_address
            self.addresses["bus_remote_pull"] = self.bus.remote_pull_address
        for service in self._services:
            self.addresses.update(service.bind(dict(self.addresses)))
        return self.addresses

    def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        self.cache_writer.shutdown(wait=True)
        for service in self._services:
            service.close()
        self._router.close(0)
        self._pub.close(0)
        if self._firer is not None:
            self._firer.close()
        self.bus.stop()
        self.context.term()

    async def serve(self) -> None:
        """Serve requests, the services and the maintenance loop until cancelled."""
        for service in self._services:
            await service.start()
        maintenance = asyncio.create_task(self._maintenance_loop())
        try:
            await self._request_loop()
        finally:
            maintenance.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await maintenance
            for service in self._services:
                await service.stop()

    # -- request server ---------------------------------------------------------------
    async def _request_loop(self) -> None:
        """Wait for a request, then serve what is queued in batches without asyncio futures,
        yielding between batches so that a sign-in storm does not starve presence ticks."""
        router, now = self._router, self._router_now
        while True:
            self._serve(await router.recv_multipart())
            for _ in range(_REQUEST_BATCH - 1):
                try:
                    frames = now.recv_multipart(zmq.NOBLOCK)
                except zmq.Again:
                    break
                self._serve(frames)
            await asyncio.sleep(0)

    def _serve(self, frames: list[bytes]) -> None:
        """Answer one request. Nothing a request holds ends the loop (Salt catches every
        exception per request too): a failure is counted, logged with a rate limit
        (``Failures``) and answered with an error."""
        send = self._router_now.send_multipart
        if len(frames) != 2:
            self.edge.count(Refused("bad framing", f"{len(frames)} frames"))
            if len(frames) > 2:
                error = {"ok": False, "error": "one request is one frame"}
                send([frames[0], RequestEdge.reply(None, error)])
            return
        identity, payload = frames
        rid: Any = None
        try:
            enc, session, load, rid = self.edge.parse(payload)
            if enc == "client":
                self._spawn(self._client(identity, rid, load))
                return
            if enc == "clear" and (gate := self._gate(load.get("id"))) is not None:
                self._spawn(self._sign_in_after(gate, identity, rid, load))
                return
            if enc == "clear":
                body = self._signed_in(load)
            else:
                assert session is not None
                body = self._minion_request(session, load)
        except Refused as refusal:
            self.edge.count(refusal)
            body = refusal.reply
        except Exception as exc:
            body = self.failures.record("minion port", exc)
        try:
            send([identity, RequestEdge.reply(rid, body)])
        except (zmq.ZMQError, FrameError) as exc:  # an rid msgpack cannot hold, a closed socket
            self.failures.record("reply", exc)

    def _minion_request(self, session: Session, load: dict[str, Any]) -> dict[str, Any]:
        cmd = load.get("cmd")
        handler = self._minion_commands.get(cmd) if isinstance(cmd, str) else None
        if handler is None:
            raise Refused("unknown cmd", f"unknown cmd {cmd!r}")
        return handler(session, load)

    def _signed_in(self, load: dict[str, Any]) -> dict[str, Any]:
        if self._sign_in is None:
            raise Refused("bad auth", "this master takes no sign-ins")
        return self._sign_in(load)

    def _gate(self, minion_id: Any) -> asyncio.Event | None:
        for gate in self._gates:
            event = gate(minion_id)
            if event is not None:
                return event
        return None

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _sign_in_after(
        self, gate: asyncio.Event, identity: bytes, rid: Any, load: dict[str, Any]
    ) -> None:
        """A sign-in held by a gate (a VM being deployed), answered once the gate opened
        (or ``cloud_timeout`` passed), so the bus shows it after the VM's cloud events."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(gate.wait(), self.config.cloud_timeout)
        try:
            body = self._signed_in(load)
        except Refused as refusal:
            self.edge.count(refusal)
            body = refusal.reply
        except Exception as exc:
            body = self.failures.record("sign-in", exc)
        await self._reply(identity, rid, body)

    async def _reply(self, identity: bytes, rid: Any, body: dict[str, Any]) -> None:
        try:
            await self._router.send_multipart([identity, RequestEdge.reply(rid, body)])
        except (zmq.ZMQError, FrameError) as exc:
            self.failures.record("reply", exc)

    async def _client(self, identity: bytes, rid: Any, load: dict[str, Any]) -> None:
        try:
            body = await self.commands.dispatch(load["cmd"], load)
        except UnknownCommand as exc:
            body = {"ok": False, "error": str(exc)}
        except (TargetError, FrameError, ValueError, TypeError) as exc:
            refusal = Refused("bad client load", str(exc))
            self.edge.count(refusal)
            body = refusal.reply
        except Exception as exc:
            body = self.failures.record("client", exc)
        await self._reply(identity, rid, body)

    async def _info(self, load: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "addresses": self.addresses, "dialect": self.config.dialect}

    async def _stats_command(self, load: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, **self.stats()}

    # -- maintenance ------------------------------------------------------------------
    async def _maintenance_loop(self) -> None:
        while True:
            await asyncio.sleep(self.config.loop_interval)
            self.tick()

    def tick(self) -> None:
        """One maintenance tick: every registered hook, in registration order."""
        # libzmq frees a gone subscriber's connection only when the socket is next used,
        # and this PUB is used only to publish jobs: without this, a master whose minions
        # come and go between jobs grows ~14 KB per reconnect (bench-churn found it).
        self._pub.getsockopt(zmq.EVENTS)
        for hook in self._ticks:
            hook()

    def stats(self) -> dict[str, Any]:
        return {
            "refused": dict(self.edge.refused),
            "bus": self.bus.stats.as_dict(),
            "fire_failures": self.fire_failures,
            **{name: source() for name, source in self._stats.items()},
            "time": time.time(),
        }
