"""One simulated Salt minion as an asyncio task: sign-in, start events, heartbeats, jobs.

Requests go over a DEALER socket to the master's ROUTER, one frame each, matched
to replies by ``rid``; after sign-in they are sealed with the minion's own
request key and carry an increasing counter (replay protection). Publications
come over a SUB socket sealed with the shared publish key; a load that does not
open means the key rotated, so the minion signs in again and retries it, as Salt.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import platform
import time
from typing import Any

import zmq
import zmq.asyncio

from saltsim.crypto import CryptoError, KeyPair, SessionCipher
from saltsim.errors import FrameError
from saltsim.targeting import TargetError, match_target
from saltsim.wire import decode_data, encode_data
from saltsim_minion.config import MinionConfig
from saltsim_minion.functions import FUNCTIONS

__all__ = ["EXIT_REJECTED", "Minion", "Rejected"]

log = logging.getLogger(__name__)
EXIT_REJECTED = 77  # Salt's EX_NOPERM when the master rejects the key
# A request that timed out is sent again with twice the wait, up to this: a master busy
# with a sign-in storm then gets fewer duplicates (Salt's request channel waits 60 s).
_MAX_WAIT = 60.0


class Rejected(Exception):
    """The master rejected or denied this minion's key."""


class _Reauth(Exception):
    """The master no longer knows this minion's session."""


class _Quiet(_Reauth):
    """The master holds no accepted key for this minion (deleted or rejected): a real
    minion makes no request of its own until a publication fails to decrypt, so neither
    does this one; its heartbeats stop until it signs in again."""


class Minion:
    """One minion's life against its master: sign-in, start-up, heartbeats, jobs.

    ``run()`` signs in (``Rejected`` ends it), fires the start sequence, then serves
    publications and heartbeats until cancelled; ``goodbye()`` tells the master of a
    graceful stop, ``close()`` closes the sockets. ``request()`` is the sealed request
    channel the start-up, the jobs' returns and the local event socket share. Jobs run
    through the execution-function table (``saltsim_minion.functions``) with this
    minion as their ``FunctionContext``.
    """

    def __init__(
        self, config: MinionConfig, context: zmq.asyncio.Context, keys: KeyPair | None = None
    ) -> None:
        self.config = config
        self.ctx = context
        self.keys = keys
        self.grains = self._grains()
        self.request_cipher: SessionCipher | None = None
        self.publish_cipher: SessionCipher | None = None
        self.publish_port = 0
        self.started = asyncio.Event()  # set once the start events were fired
        self.auth_count = 0
        self._rid = itertools.count(1)
        self._counter = itertools.count(1)
        self._replies: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._dealer: zmq.asyncio.Socket | None = None
        self._sub: zmq.asyncio.Socket | None = None
        self._reader: asyncio.Task[None] | None = None
        self._auth_lock = asyncio.Lock()
        # Set while the master holds this minion's session; heartbeats wait on it, so a
        # minion whose key was deleted goes quiet (the heartbeat is saltsim's, not Salt's,
        # and must not make the bus show a sign-in that a real minion would not make).
        self._awake = asyncio.Event()
        self._jobs: set[asyncio.Task[Any]] = set()

    def _grains(self) -> dict[str, Any]:
        version = "3008.3" if self.config.dialect == "3008" else "3006.30"
        base: dict[str, Any] = {
            "id": self.config.id,
            "host": self.config.id,
            "fqdn": self.config.id,
            "os": "Debian",
            "os_family": "Debian",
            "osrelease": "12",
            "kernel": "Linux",
            "saltversion": version,
            "num_cpus": os.cpu_count() or 1,
            "pythonversion": list(platform.python_version_tuple()),
        }
        base.update(self.config.grains)
        return base

    @property
    def id(self) -> str:
        """The minion's id (``FunctionContext``)."""
        return self.config.id

    @property
    def awake(self) -> bool:
        """False while the master holds no accepted key for this minion (see ``_Quiet``)."""
        return self._awake.is_set()

    # -- sockets --------------------------------------------------------------------
    def _connect_dealer(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
        if self._dealer is not None:
            self._dealer.close(0)
        for future in self._replies.values():
            if not future.done():
                future.set_exception(TimeoutError("request socket reset"))
        self._replies.clear()
        dealer = self.ctx.socket(zmq.DEALER)
        dealer.setsockopt(zmq.LINGER, 0)
        dealer.connect(self.config.address(self.config.master_port))
        self._dealer = dealer
        self._reader = asyncio.create_task(self._read_replies(dealer))

    async def _read_replies(self, dealer: zmq.asyncio.Socket) -> None:
        while True:
            frame = await dealer.recv()
            try:
                reply = decode_data(frame)
            except FrameError:
                continue
            future = self._replies.pop(reply.get("rid"), None)  # type: ignore[arg-type]
            if future is not None and not future.done():
                future.set_result(reply)

    def _connect_sub(self, port: int) -> None:
        if self._sub is not None and port == self.publish_port:
            return
        if self._sub is not None:
            self._sub.close(0)
        sub = self.ctx.socket(zmq.SUB)
        sub.setsockopt(zmq.LINGER, 0)
        sub.setsockopt(zmq.SUBSCRIBE, b"")
        sub.connect(self.config.address(port))
        self._sub = sub
        self.publish_port = port

    def close(self) -> None:
        for task in self._jobs:
            task.cancel()
        if self._reader is not None:
            self._reader.cancel()
        for sock in (self._dealer, self._sub):
            if sock is not None:
                sock.close(0)
        self._dealer = self._sub = None

    # -- requests -------------------------------------------------------------------
    async def _request(self, envelope: dict[str, Any], timeout: float) -> dict[str, Any]:
        if self._dealer is None:
            self._connect_dealer()
        assert self._dealer is not None
        rid = next(self._rid)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._replies[rid] = future
        await self._dealer.send(encode_data({**envelope, "rid": rid}))
        try:
            # Not asyncio.wait_for: on Python 3.11 it returns a reply that arrives together
            # with a cancellation and drops the cancellation, so a SIGTERM landing as an
            # _auth reply came in was lost and the minion went on signing in (gh-86296).
            async with asyncio.timeout(timeout):
                return await future
        finally:
            self._replies.pop(rid, None)

    async def request(self, load: dict[str, Any], timeout: float = 0.0) -> dict[str, Any]:
        """Send a sealed request; signs in again once if the master lost the session.

        ``timeout`` 0 is the configured ``request_timeout``."""
        for attempt in (1, 2):
            cipher = self.request_cipher
            if cipher is None:
                await self.sign_in()
                continue
            sealed = cipher.seal({**load, "ctr": next(self._counter)}, self.config.id.encode())
            reply = await self._request(
                {"enc": "aes", "id": self.config.id, "load": sealed},
                timeout or self.config.request_timeout,
            )
            if reply.get("quiet"):
                self._awake.clear()
                raise _Quiet(f"{self.config.id}: the master holds no accepted key for it")
            if reply.get("reauth") and attempt == 1:
                await self.sign_in(stale=cipher)
                continue
            return reply
        raise _Reauth("the master refused the request after signing in again")

    async def fire_master(self, data: dict[str, Any], tag: str) -> bool:
        """Salt's ``event.send``: a ``_minion_event`` the master wraps and fires."""
        reply = await self.send_event(data, tag)
        return bool(reply.get("ok"))

    async def send_event(self, data: dict[str, Any], tag: str) -> dict[str, Any]:
        """``fire_master`` with the master's whole answer (``ok``, ``error``): the local
        event socket passes a refusal on to its caller."""
        return await self.request(
            {
                "cmd": "_minion_event",
                "tag": tag,
                "data": data,
                "pretag": None,
                "ts": int(time.time()),
            }
        )

    # -- sign-in --------------------------------------------------------------------
    async def sign_in(self, stale: SessionCipher | None = None) -> None:
        """``_auth`` until accepted; ``Rejected`` on reject or denied. Serialised."""
        async with self._auth_lock:
            if stale is not None and self.request_cipher is not stale:
                return  # another task already signed in again
            if self.keys is None:
                self.keys = KeyPair.load_or_create(self.config.pki_dir)
            load = {"cmd": "_auth", "id": self.config.id, "pub": self.keys.public_pem}
            wait = self.config.request_timeout
            while True:
                try:
                    reply = await self._request({"enc": "clear", "load": load}, wait)
                except TimeoutError:
                    self._connect_dealer()  # master gone or restarting: start afresh
                    wait = self._longer(wait)
                    continue
                act = reply.get("act")
                if act == "accept":
                    self._accepted(reply)
                    return
                if act in ("reject", "denied"):
                    raise Rejected(f"the master answered {act} for {self.config.id}")
                if not reply.get("ok"):
                    log.error("%s: sign-in refused: %s", self.config.id, reply.get("error"))
                await asyncio.sleep(self.config.acceptance_wait_time)  # pend or full: retry

    def _accepted(self, reply: dict[str, Any]) -> None:
        assert self.keys is not None
        try:
            self.publish_cipher = SessionCipher(self.keys.decrypt(reply["publish_key"]))
            self.request_cipher = SessionCipher(self.keys.decrypt(reply["request_key"]))
        except (KeyError, CryptoError) as exc:
            raise Rejected(f"accept reply unusable: {exc}") from exc
        self._counter = itertools.count(1)
        self.auth_count += 1
        self._connect_sub(int(reply["publish_port"]))
        self._awake.set()

    # -- life -----------------------------------------------------------------------
    async def run(self) -> int:
        """Sign in, fire the start sequence, then serve until cancelled."""
        try:
            await self.sign_in()
        except Rejected as exc:
            log.error("%s; exiting after %ss", exc, self.config.rejected_wait)
            await asyncio.sleep(self.config.rejected_wait)
            return EXIT_REJECTED
        for load in self.start_loads():
            await self._until_answered(load)
        self.started.set()
        try:
            await asyncio.gather(self._heartbeats(), self._publications())
        except Rejected as exc:
            log.error("%s; exiting", exc)
            return EXIT_REJECTED
        return 0

    async def _until_answered(self, load: dict[str, Any]) -> dict[str, Any]:
        """A start-up request, sent again after each timeout: a master busy with a sign-in
        storm is late, not gone (a Salt minion keeps retrying its start-up too)."""
        wait = self.config.request_timeout
        while True:
            try:
                return await self.request(load, wait)
            except TimeoutError:
                log.warning(
                    "%s: no answer to %s within %.0f s; sending it again",
                    self.config.id,
                    load["cmd"],
                    wait,
                )
                wait = self._longer(wait)

    def _longer(self, wait: float) -> float:
        return min(2 * wait, max(_MAX_WAIT, self.config.request_timeout))

    def start_loads(self) -> list[dict[str, Any]]:
        """The start-up requests after a sign-in, in Salt's order, each sent after the
        previous reply: ``_pillar`` (``minion/refresh/<id>``), ``minion_start``, on 3008
        ``_register_resources`` (``resource/refresh/<id>``), then the start event."""
        text = f"Minion {self.config.id} started at {time.asctime()}"
        loads = [
            {"cmd": "_pillar", "grains": self.grains},
            self._start_event("minion_start", text),
        ]
        if self.config.dialect == "3008":
            loads.append({"cmd": "_register_resources", "resources": {}})
        loads.append(self._start_event(f"salt/minion/{self.config.id}/start", text))
        return loads

    @staticmethod
    def _start_event(tag: str, text: str) -> dict[str, Any]:
        return {
            "cmd": "_minion_event",
            "tag": tag,
            "data": text,
            "pretag": None,
            "ts": int(time.time()),
        }

    async def goodbye(self) -> None:
        """A graceful stop tells the master at once; it fires nothing (presence shows it)."""
        if self.request_cipher is not None:
            with contextlib.suppress(TimeoutError, _Reauth, Rejected, zmq.ZMQError):
                await asyncio.wait_for(self.request({"cmd": "_disconnect"}), 1.0)

    async def _heartbeats(self) -> None:
        while True:
            await asyncio.sleep(self.config.heartbeat_interval)
            await self._awake.wait()
            with contextlib.suppress(TimeoutError, _Reauth):
                await self.request({"cmd": "_heartbeat"})

    async def _publications(self) -> None:
        while True:
            assert self._sub is not None
            sub = self._sub
            try:
                frame = await sub.recv()
            except zmq.ZMQError:
                if sub is self._sub:
                    raise
                continue  # the socket was replaced after a sign-in to another port
            try:
                sealed = decode_data(frame).get("load")
            except FrameError:
                continue
            load = await self._open_publication(sealed)
            if load is None or not self._targeted(load):
                continue
            task = asyncio.create_task(self._run_job(load))
            self._jobs.add(task)
            task.add_done_callback(self._jobs.discard)

    async def _open_publication(self, sealed: Any) -> dict[str, Any] | None:
        for attempt in (1, 2):
            cipher = self.publish_cipher
            assert cipher is not None
            try:
                return cipher.open(sealed)
            except (CryptoError, FrameError):
                if attempt == 2:
                    return None
                await self.sign_in(stale=self.request_cipher)  # the publish key rotated
                if self.publish_cipher is cipher:
                    return None
        return None

    def _targeted(self, load: dict[str, Any]) -> bool:
        try:
            return match_target(
                load.get("tgt", ""), load.get("tgt_type", "glob"), self.config.id, self.grains
            )
        except TargetError:
            return False

    async def _run_job(self, load: dict[str, Any]) -> None:
        fun, arg = str(load.get("fun")), list(load.get("arg") or [])
        if self.config.dialect == "3008":
            # Salt 3008's minion adds its resource targeting to every publication it runs
            # (_target_load), so functions taking **kwargs see them as __pub_* keys; a
            # minion managing no resources is itself the target.
            load = {
                **load,
                "resource_targets": [],
                "pure_resource_target": False,
                "minion_is_target": True,
            }
        value, retcode, success = await FUNCTIONS.execute(self, fun, arg, load)
        ret = {
            "cmd": "_return",
            "id": self.config.id,
            "jid": load.get("jid"),
            "fun": fun,
            "fun_args": arg,
            "return": value,
            "retcode": retcode,
            "success": success,
            "ts": int(time.time()),  # Salt's request channel stamps an integer
        }
        with contextlib.suppress(TimeoutError, _Reauth):
            await self.request(ret)
