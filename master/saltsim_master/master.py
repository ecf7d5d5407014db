"""The master: one asyncio process around the bus, the request server and the publisher.

Every subsystem fires through ``Master.fire`` (the one publish path); the bus
stamps ``_stamp`` and ``_seq``.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import secrets
import time
from collections.abc import Coroutine
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
from saltsim.targeting import TargetError, check_target, match_target
from saltsim.wire import encode_data
from saltsim_master import cache
from saltsim_master.api import RestApi
from saltsim_master.auth import Authenticator
from saltsim_master.cloud import Cloud
from saltsim_master.config import MasterConfig
from saltsim_master.failures import Failures
from saltsim_master.jobs import JidMaker, Job, JobCache
from saltsim_master.keyactions import KeyActions
from saltsim_master.keys import KeyStore, valid_id
from saltsim_master.minionreq import MinionRequests
from saltsim_master.reqserver import Refused, RequestEdge
from saltsim_master.runners import RunnerError, run_runner
from saltsim_master.sessions import Sessions

__all__ = ["Master"]

log = logging.getLogger(__name__)
# Requests served back to back before the loop yields to its other tasks (presence, clients).
_REQUEST_BATCH = 64


def _load_token(pki_dir: Path) -> str:
    """The local client token (Salt's ``.root_key``): a 0600 file beside the keys. One
    found with another owner, loose mode or as a symlink is refused (``ConfigError``):
    a planted token would let its planter run jobs."""
    token = read_or_create_secret(
        pki_dir / "client_token", lambda: secrets.token_urlsafe(32).encode()
    )
    return token.decode().strip()


def _make_bus(config: MasterConfig) -> EventBus:
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
    return EventBus(
        *bus_ipc_addresses(config.sock_dir),
        dialect=config.dialect,
        hwm=config.bus_hwm,
        hold=config.bus_hold,
        remote=remote,
        curve=curve,
    )


class Master:
    def __init__(self, config: MasterConfig) -> None:
        self.config = config
        for folder in (config.pki_dir, config.cachedir, config.sock_dir):
            private_dir(folder)  # 0700, ours; ConfigError for one someone else could write
        self.keys = KeyStore(config.pki_dir)
        self.sessions = Sessions()
        # The caches (grains, jobs) are written behind, in order, by one thread: creating a
        # file takes 0.1-0.3 ms here, most of a _pillar request's cost during a start-up storm.
        self._cache_writer = ThreadPoolExecutor(1, thread_name_prefix="saltsim-cache")
        self.jobs = JobCache(config.cachedir, self._cache_writer)
        self.make_jid = JidMaker()
        self.grains_dir = Path(config.cachedir) / "grains"
        self.grains_dir.mkdir(parents=True, exist_ok=True)
        # msgpack files (cache.py); an unreadable one is skipped with a warning.
        self.grains: dict[str, dict[Any, Any]] = cache.load_all(self.grains_dir)
        self.client_token = _load_token(Path(config.pki_dir))
        self.edge = RequestEdge(self.sessions, config.max_load_size, self.client_token)
        self.edge.signs_in_again = lambda minion_id: (
            valid_id(minion_id) and self.keys.state(minion_id) == "accepted"
        )
        self.failures = Failures(self.edge)
        self.auth = Authenticator(config, self.keys, self.sessions, self.fire)
        self.key_actions = KeyActions(self)
        self.minion_requests = MinionRequests(self)
        self.cloud = Cloud(self)
        self.rotation_due = False
        self.present: set[str] = set()
        self.fire_failures = 0
        self._returned: dict[str, asyncio.Event] = {}
        self._ctx = zmq.asyncio.Context()
        self.bus = _make_bus(config)
        self._firer: EventClient | None = None
        self._router = self._ctx.socket(zmq.ROUTER)
        self._pub = self._ctx.socket(zmq.PUB)
        for sock in (self._router, self._pub):
            sock.setsockopt(zmq.LINGER, 0)
        self._router.setsockopt(zmq.MAXMSGSIZE, max(config.max_load_size * 4, 1 << 20))
        self._router.setsockopt(zmq.ROUTER_HANDOVER, 1)
        # The same socket without asyncio futures, for draining queued requests and for
        # replies: a ROUTER send never blocks (an unroutable reply is dropped).
        self._router_now: zmq.Socket[Any] = zmq.Socket.shadow(self._router.underlying)
        self._tasks: set[asyncio.Task[Any]] = set()
        self.addresses: dict[str, str] = {}
        self.api = RestApi(self, self._ctx) if config.api_enabled else None

    # -- the one publish path -------------------------------------------------------
    def fire(self, tag: str, data: dict[str, Any]) -> None:
        assert self._firer is not None, "fire() before start()"
        if not self._firer.fire_event(data, tag):
            self.fire_failures += 1
            log.error("bus did not take %s within the fire timeout", tag)

    # -- lifecycle ------------------------------------------------------------------
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
        self.publish_port = int(pub.rsplit(":", 1)[1])
        self.addresses = {"ret": ret, "publish": pub, "bus_pub": bus_pub, "bus_pull": bus_pull}
        if self.bus.remote_pub_address:
            self.addresses["bus_remote_pub"] = self.bus.remote_pub_address
            self.addresses["bus_remote_pull"] = self.bus.remote_pull_address
        if self.api is not None:
            self.addresses["api"] = self.api.bind(bus_pub)
        return self.addresses

    def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        self._cache_writer.shutdown(wait=True)
        if self.api is not None:
            self.api.close()
        self._router.close(0)
        self._pub.close(0)
        if self._firer is not None:
            self._firer.close()
        self.bus.stop()
        self._ctx.term()

    async def serve(self) -> None:
        """Serve requests, the REST API and the maintenance loop until cancelled."""
        if self.api is not None:
            await self.api.start()
        maintenance = asyncio.create_task(self._maintenance_loop())
        try:
            await self._request_loop()
        finally:
            maintenance.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await maintenance
            if self.api is not None:
                await self.api.stop()

    # -- request server -------------------------------------------------------------
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
            if enc == "clear" and (gate := self.cloud.auth_gate(load.get("id"))) is not None:
                self._spawn(self._auth_after(gate, identity, rid, load))
                return
            if enc == "clear":
                body = self.auth.handle(load)
            else:
                assert session is not None
                body = self.minion_requests.handle(session, load)
        except Refused as refusal:
            self.edge.count(refusal)
            body = refusal.reply
        except Exception as exc:
            body = self.failures.record("minion port", exc)
        try:
            send([identity, RequestEdge.reply(rid, body)])
        except (zmq.ZMQError, FrameError) as exc:  # an rid msgpack cannot hold, a closed socket
            self.failures.record("reply", exc)

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _auth_after(
        self, gate: asyncio.Event, identity: bytes, rid: Any, load: dict[str, Any]
    ) -> None:
        """A sign-in of a VM being deployed, answered once the cloud runner fired
        ``created`` (or gave up), so the bus shows it after the VM's cloud events."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(gate.wait(), self.config.cloud_timeout)
        try:
            body = self.auth.handle(load)
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
        cmd = load["cmd"]
        try:
            if cmd == "publish":
                body = self.publish(load)
            elif cmd == "runner":
                body = await self.run_runner(load)
            elif cmd == "key":
                body = self.key_actions.handle(load)
            elif cmd == "info":
                body = {"ok": True, "addresses": self.addresses, "dialect": self.config.dialect}
            elif cmd == "stats":
                body = {"ok": True, **self.stats()}
            else:
                body = {"ok": False, "error": f"unknown client cmd {cmd!r}"}
        except (TargetError, FrameError, ValueError, TypeError) as exc:
            refusal = Refused("bad client load", str(exc))
            self.edge.count(refusal)
            body = refusal.reply
        except Exception as exc:
            body = self.failures.record("client", exc)
        await self._reply(identity, rid, body)

    def save_grains(self, minion_id: str, grains: dict[Any, Any]) -> None:
        """Keep a minion's grains for targeting, and on disk for the next start (any
        msgpack value; ``Refused`` for grains nested deeper than msgpack writes)."""
        try:
            data = cache.pack(grains)
        except FrameError as exc:
            raise Refused("bad grains", f"grains cannot be cached: {exc}") from exc
        self.grains[minion_id] = grains
        path = self.grains_dir / f"{minion_id}{cache.SUFFIX}"
        self._cache_writer.submit(cache.write_atomic, path, data)

    # -- jobs -----------------------------------------------------------------------
    def expected_minions(self, tgt: Any, tgt_type: str) -> tuple[list[str], list[str]]:
        check_target(tgt, tgt_type)  # TargetError now, whether or not any minion is there
        accepted = self.keys.list("accepted")
        if tgt_type == "list":
            # As Salt's _check_list_minions: both lists keep the target's order.
            listed = [t.strip() for t in tgt.split(",")] if isinstance(tgt, str) else list(tgt)
            known = set(accepted)
            return [m for m in listed if m in known], [m for m in listed if m not in known]
        minions = [m for m in accepted if match_target(tgt, tgt_type, m, self.grains.get(m, {}))]
        return minions, []

    def publish(self, load: dict[str, Any]) -> dict[str, Any]:
        """Salt's LocalClient publish: events, cache, encrypted load on the PUB socket."""
        tgt, tgt_type = load.get("tgt", ""), load.get("tgt_type", "glob")
        fun, arg, user = load.get("fun"), load.get("arg", []), load.get("user", "root")
        if not isinstance(fun, str) or not fun or not isinstance(arg, list):
            raise ValueError("publish needs fun (str) and arg (list)")
        minions, missing = self.expected_minions(tgt, tgt_type)
        if not minions:
            return {"ok": True, "jid": "", "minions": [], "missing": missing}
        jid = self.make_jid()
        if self.config.dialect == "3006":
            self.fire(jid, {"minions": minions})
        self.fire(
            f"salt/job/{jid}/new",
            {
                "jid": jid,
                "tgt_type": tgt_type,
                "tgt": tgt,
                "user": user,
                "fun": fun,
                "arg": arg,
                "minions": minions,
                "missing": missing,
            },
        )
        pub_load = {
            "fun": fun,
            "arg": arg,
            "tgt": tgt,
            "jid": jid,
            "ret": "",
            "tgt_type": tgt_type,
            "user": user,
        }
        if self.config.dialect == "3008":
            self.fire(f"salt/job/{jid}/publish", dict(pub_load))
        start = dt.datetime.now(dt.UTC).strftime("%Y, %b %d %H:%M:%S.%f")
        self.jobs.add(Job(jid, pub_load, minions, start=start))
        sealed = self.sessions.publish_cipher.seal(pub_load)
        self._pub.send(encode_data({"enc": "aes", "load": sealed}))
        return {"ok": True, "jid": jid, "minions": minions, "missing": missing}

    def record_return(self, minion_id: str, ret: dict[str, Any]) -> None:
        job = self.jobs.add_return(ret["jid"], minion_id, ret)
        waiter = self._returned.get(ret["jid"])
        if job is not None and waiter is not None and set(job.minions) <= set(job.returns):
            waiter.set()

    async def wait_returns(self, jid: str, timeout: float) -> dict[str, Any]:
        """Returns of a job, waiting until every expected minion answered or ``timeout``."""
        job = self.jobs.get(jid)
        if job is None:
            return {}
        waiter = self._returned.setdefault(jid, asyncio.Event())
        if set(job.minions) <= set(job.returns):
            waiter.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(waiter.wait(), timeout)
        self._returned.pop(jid, None)
        return dict(job.returns)

    # -- runners --------------------------------------------------------------------
    async def run_runner(self, load: dict[str, Any]) -> dict[str, Any]:
        fun, arg = load.get("fun"), load.get("arg", [])
        kwarg, user = load.get("kwarg", {}), load.get("user", "root")
        if not isinstance(fun, str) or not isinstance(arg, list) or not isinstance(kwarg, dict):
            raise ValueError("runner needs fun (str), arg (list) and kwarg (map)")
        jid = self.make_jid()
        fun_args: list[Any] = [*arg, kwarg] if kwarg else list(arg)
        base = {"fun": f"runner.{fun}", "jid": jid, "user": user, "fun_args": fun_args}
        self.fire(f"salt/run/{jid}/new", dict(base))
        try:
            result, success = await run_runner(self, fun, arg, kwarg), True
        except RunnerError as exc:
            result, success = str(exc), False
        except Exception as exc:  # a runner bug is the runner's failure, not the master's
            log.exception("runner %s raised", fun)
            result, success = f"Exception occurred in runner {fun}: {exc!r}", False
        ret = {**base, "return": result, "success": success}
        if not success:
            ret["retcode"] = 1
        self.fire(f"salt/run/{jid}/ret", ret)
        return {"ok": True, "jid": jid, "return": result, "success": success}

    # -- maintenance and presence ---------------------------------------------------
    async def _maintenance_loop(self) -> None:
        while True:
            await asyncio.sleep(self.config.loop_interval)
            self.maintenance_tick()
            self.jobs.prune(self.config.keep_jobs_for)  # the files go in the writer thread

    def maintenance_tick(self) -> None:
        # libzmq frees a gone subscriber's connection only when the socket is next used,
        # and this PUB is used only to publish jobs: without this, a master whose minions
        # come and go between jobs grows ~14 KB per reconnect (bench-churn found it).
        self._pub.getsockopt(zmq.EVENTS)
        # Salt's maintenance loop runs handle_presence before handle_key_rotate, so a
        # tick's presence events come before its `key` rotation event.
        accepted = set(self.keys.list("accepted"))
        connected = self.sessions.connected(self.config.heartbeat_timeout) & accepted
        if self.config.presence_events:
            new, lost = sorted(connected - self.present), sorted(self.present - connected)
            if new or lost:
                self.fire("salt/presence/change", {"new": new, "lost": lost})
            self.fire("salt/presence/present", {"present": sorted(connected)})
        self.present = connected
        if self.rotation_due:
            self.rotation_due = False
            self.sessions.rotate_publish_key()
            self.fire("key", {"rotate_aes_key": True})

    def connected(self) -> set[str]:
        accepted = set(self.keys.list("accepted"))
        return self.sessions.connected(self.config.heartbeat_timeout) & accepted

    def stats(self) -> dict[str, Any]:
        return {
            "refused": dict(self.edge.refused),
            "bus": self.bus.stats.as_dict(),
            "fire_failures": self.fire_failures,
            "api": self.api.stats() if self.api is not None else None,
            "time": time.time(),
        }
