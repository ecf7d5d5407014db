"""The master event bus: PULL in, PUB out, as Salt's ``master_event_pull`` → ``master_event_pub``.

The bus is the only place that stamps ``_stamp`` and ``_seq``. It validates
every inbound frame by decoding it, then adds the two keys by patching the
msgpack map header and appending them, which avoids re-encoding the payload.
Malformed frames are counted and dropped. A stalled subscriber costs at most
``hwm`` queued frames (libzmq drops beyond that); the subscriber sees the drop
as a gap in ``_seq``. A bus that (re)starts publishes ``saltsim/bus/start`` as
``_seq`` 1, so listeners can tell a restart from loss.

Reach: by default both sockets are ``ipc://`` files in a 0700 directory (Salt's
sock_dir), so only this user (and root) can listen or fire. A bus may also bind remote
endpoints (``remote=(pull, pub)``), which run CURVE when given a ``CurveServer``: libzmq's
ZAP authenticator lets in only the listed client keys, and a client without them
completes no handshake, so it reads nothing and fires nothing. Remote endpoints without
CURVE are an explicit, logged opt-in.
"""

from __future__ import annotations

import logging
import os
import socket
import stat
import threading
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

import msgpack
import zmq
from zmq.auth.thread import ThreadAuthenticator

from saltsim.config import BusConfig
from saltsim.curve import CurveServer
from saltsim.deadline import Deadline
from saltsim.errors import ConfigError, FrameError
from saltsim.private import private_dir
from saltsim.stamp import Stamper
from saltsim.wire import NotAMapError, decode_data, encode_data, pack_frame, tag_length

__all__ = ["BUS_START_TAG", "BusStats", "EventBus"]

log = logging.getLogger(__name__)

BUS_START_TAG = "saltsim/bus/start"
_DRAIN_BATCH = 512
_FIXMAP, _MAP16, _MAP32 = 0x80, 0xDE, 0xDF


@dataclass
class BusStats:
    """Counters of one bus incarnation; ``bad_frames`` is broken down in ``bad_by_reason``."""

    published: int = 0
    bad_frames: int = 0
    bad_by_reason: dict[str, int] = field(default_factory=dict)
    curve_refused: int = 0  # CURVE handshakes with a client key the bus was not given

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _bind(sock: zmq.Socket[Any], address: str) -> str:
    """Bind; an ``ipc://`` socket's directory is made (or checked) private first, and a
    socket file that something still serves is refused: libzmq would silently replace it,
    cutting a running master's bus off from every listener."""
    if address.startswith("ipc://"):
        path = os.path.abspath(address[len("ipc://") :])
        private_dir(os.path.dirname(path))
        if _served(path):
            raise ConfigError(
                f"{path} is served by another bus (a master already running with this "
                "sock_dir?): give this one its own sock_dir"
            )
    sock.bind(address)
    return sock.getsockopt_string(zmq.LAST_ENDPOINT)


def _served(path: str) -> bool:
    """Whether a Unix socket at ``path`` accepts connections (a stale file does not)."""
    if not os.path.lexists(path) or not stat.S_ISSOCK(os.lstat(path).st_mode):
        return False
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(1.0)
        try:
            probe.connect(path)
        except OSError:
            return False
    return True


def _map_header(count: int) -> bytes:
    if count < 16:
        return bytes((_FIXMAP | count,))
    if count < 0x10000:
        return bytes((_MAP16,)) + count.to_bytes(2, "big")
    return bytes((_MAP32,)) + count.to_bytes(4, "big")


def _map_entries(body: bytes) -> tuple[int, int]:
    """``(entries, header length)`` of a msgpack map, read from its header.

    The count comes from the header, not from the decoded dict, because a map
    with duplicate keys decodes to fewer entries than it carries.
    """
    first = body[0]
    if first & 0xF0 == _FIXMAP:
        return first & 0x0F, 1
    if first == _MAP16:
        return int.from_bytes(body[1:3], "big"), 3
    return int.from_bytes(body[1:5], "big"), 5


class _CurveProvider:
    """What ``zmq.auth`` asks about each CURVE handshake (its ``credentials_provider``)."""

    def __init__(self, curve: CurveServer, stats: BusStats) -> None:
        self.curve, self.stats = curve, stats
        self.logged = False

    def callback(self, domain: str, key: bytes) -> bool:
        allowed = self.curve.allows(domain, key)
        if not allowed:
            self.stats.curve_refused += 1  # only this (ZAP) thread writes it
            if not self.logged:
                self.logged = True
                log.warning("bus refused a CURVE client key %s; further ones only counted", key)
        return allowed


class EventBus:
    """PULL → stamp → PUB. ``bind()`` then ``run()`` in a process, or ``start()`` a thread.

    Addresses default to ``ipc://`` sockets in the default sock_dir (``BusConfig``); they
    may use port 0 (``tcp://127.0.0.1:0``); ``bind()`` returns the real ones.
    ``remote``: more ``(pull, pub)`` endpoints, CURVE when ``curve`` is given.
    """

    def __init__(
        self,
        pull_address: str = "",
        pub_address: str = "",
        *,
        dialect: str = "3008",
        hwm: int = 10_000,
        hold: float = 0.0,
        context: zmq.Context[Any] | None = None,
        remote: tuple[str, str] | None = None,
        curve: CurveServer | None = None,
    ) -> None:
        if not (pull_address and pub_address):
            defaults = BusConfig()
            pull_address = pull_address or defaults.pull_address
            pub_address = pub_address or defaults.pub_address
        self._stamper = Stamper(dialect)
        self.dialect = dialect
        self.bus_id = uuid.uuid4().hex
        self.stats = BusStats()
        self._seq = 0
        self._own_context = context is None
        self._context = context or zmq.Context()
        self._pull = self._context.socket(zmq.PULL)
        # XPUB: a PUB that also tells when a subscriber joins (for ``hold``)
        self._pub = self._context.socket(zmq.XPUB)
        self.hold = hold
        for sock in (self._pull, self._pub):
            sock.setsockopt(zmq.LINGER, 0)
        self._pull.setsockopt(zmq.RCVHWM, hwm)
        self._pub.setsockopt(zmq.SNDHWM, hwm)
        self._pub.setsockopt(zmq.RCVHWM, 100)  # subscription notices nobody reads after hold
        self._requested = (pull_address, pub_address)
        self.pull_address = ""
        self.pub_address = ""
        self._remote, self._curve = remote, curve
        self.remote_pull_address = ""
        self.remote_pub_address = ""
        self._auth: ThreadAuthenticator | None = None
        self._wake_address = f"inproc://saltsim-bus-stop-{self.bus_id}"
        self._wake = self._context.socket(zmq.PAIR)
        self._wake.setsockopt(zmq.LINGER, 0)
        self._wake.bind(self._wake_address)
        self._thread: threading.Thread | None = None
        self._logged: set[str] = set()

    # -- lifecycle -----------------------------------------------------------------
    def bind(self) -> tuple[str, str]:
        """Bind both sockets; returns ``(pull_address, pub_address)`` with real ports.

        The local endpoints are bound first, before any CURVE option is set: libzmq copies
        a socket's options into each endpoint at bind, so ``ipc://`` stays plain (its
        directory is the access control) while the remote endpoints require CURVE.
        """
        pull, pub = self._requested
        self.pull_address = _bind(self._pull, pull)
        self.pub_address = _bind(self._pub, pub)
        if self._remote is not None:
            self._bind_remote(*self._remote)
        return self.pull_address, self.pub_address

    def _bind_remote(self, pull: str, pub: str) -> None:
        if self._curve is None:
            log.warning(
                "bus: remote endpoints %s and %s WITHOUT CURVE (bus_remote: plain): anyone "
                "who reaches them reads every event and fires any tag",
                pull,
                pub,
            )
        else:
            provider = _CurveProvider(self._curve, self.stats)
            self._auth = ThreadAuthenticator(self._context, log=log.getChild("zap"))
            self._auth.start()
            self._auth.configure_curve_callback(domain="*", credentials_provider=provider)
            for sock in (self._pull, self._pub):
                self._curve.apply(sock)
        self.remote_pull_address = _bind(self._pull, pull)
        self.remote_pub_address = _bind(self._pub, pub)

    def start(self) -> EventBus:
        """Bind if needed and serve in a daemon thread; pair with ``stop()``."""
        if not self.pull_address:
            self.bind()
        self._thread = threading.Thread(target=self.run, name="saltsim-bus", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the serving loop to end, wait for it, close every socket."""
        if self._thread is not None:
            poke = self._context.socket(zmq.PAIR)
            poke.setsockopt(zmq.LINGER, 0)
            poke.connect(self._wake_address)
            poke.send(b"stop")
            self._thread.join(timeout)
            poke.close()
            self._thread = None
        self.close()

    def close(self) -> None:
        for sock in (self._pull, self._pub, self._wake):
            sock.close(linger=0)
        if self._auth is not None:
            self._auth.stop()
            self._auth = None
        if self._own_context:
            self._context.term()

    def __enter__(self) -> EventBus:
        try:
            return self.start()
        except BaseException:
            self.close()
            raise

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- serving -------------------------------------------------------------------
    def run(self, signal_fd: int | None = None) -> None:
        """Serve until ``stop()`` is called from another thread, or ``signal_fd`` is readable.

        A process serving in its main thread passes the read end of its
        ``signal.set_wakeup_fd`` pair: a signal then ends the loop between two frames,
        instead of a handler raising into whatever the loop was doing.
        """
        pull, pub = self._pull, self._pub
        poller = zmq.Poller()
        poller.register(pull, zmq.POLLIN)
        poller.register(self._wake, zmq.POLLIN)
        if signal_fd is not None:
            poller.register(signal_fd, zmq.POLLIN)
        if self.hold > 0 and not self._hold_for_subscriber(signal_fd):
            return
        self._announce()
        restamp, noblock, again = self._restamp, zmq.NOBLOCK, zmq.Again
        while True:
            ready = dict(poller.poll())
            if self._wake in ready:
                return
            if signal_fd is not None and signal_fd in ready:
                return
            for _ in range(_DRAIN_BATCH):
                try:
                    frame = pull.recv(noblock)
                except again:
                    break
                out = restamp(frame)
                if out is not None:
                    pub.send(out)

    def _hold_for_subscriber(self, signal_fd: int | None) -> bool:
        """Wait up to ``hold`` s for a first subscription; False when asked to stop."""
        poller = zmq.Poller()
        poller.register(self._pub, zmq.POLLIN)
        poller.register(self._wake, zmq.POLLIN)
        if signal_fd is not None:
            poller.register(signal_fd, zmq.POLLIN)
        deadline = Deadline(self.hold)
        while (remaining := deadline.remaining()) > 0:
            ready = dict(poller.poll(int(remaining * 1000) + 1))
            if self._wake in ready or (signal_fd is not None and signal_fd in ready):
                return False
            if self._pub in ready and self._pub.recv()[:1] == b"\x01":
                return True
        log.warning("bus: no subscriber within hold=%ss; publishing anyway", self.hold)
        return True

    def _announce(self) -> None:
        info = {"bus_id": self.bus_id, "pid": os.getpid(), "dialect": self.dialect}
        out = self._restamp(pack_frame(BUS_START_TAG, info))
        assert out is not None
        self._pub.send(out)

    def _bad(self, reason: str, exc: Exception | None = None) -> None:
        self.stats.bad_frames += 1
        by = self.stats.bad_by_reason
        by[reason] = by.get(reason, 0) + 1
        if reason not in self._logged:
            self._logged.add(reason)
            log.warning(
                "bus dropped a malformed frame (%s): %s; further ones only counted", reason, exc
            )

    def _restamp(self, frame: bytes) -> bytes | None:
        try:
            cut = tag_length(frame)
            frame[:cut].decode()
        except FrameError as exc:
            self._bad("no tag", exc)
            return None
        except UnicodeDecodeError as exc:
            self._bad("not utf-8", exc)
            return None
        try:
            # The listeners' own decoder: the bus never publishes what they would refuse.
            data = decode_data(frame[cut + 2 :])
        except NotAMapError as exc:
            self._bad("not a map", exc)
            return None
        except FrameError as exc:
            self._bad("bad msgpack", exc)
            return None
        self._seq += 1
        stamp = self._stamper()
        self.stats.published += 1
        if "_stamp" in data or "_seq" in data:
            data["_stamp"], data["_seq"] = stamp, self._seq
            return frame[: cut + 2] + encode_data(data)
        start = cut + 2
        entries, header = _map_entries(frame[start : start + 5])
        tail = msgpack.packb({"_stamp": stamp, "_seq": self._seq})
        return b"".join(
            (frame[:start], _map_header(entries + 2), frame[start + header :], tail[1:])
        )
