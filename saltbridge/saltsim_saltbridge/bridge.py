"""Salt's master bus, forwarded as saltsim frames; host frames fired onto Salt's bus.

Runs inside the real salt-master container. One thread reads every event of Salt's own
(IPC) master bus with Salt's event API, in the order Salt delivers them, numbers each
(``_seq``, from 1 per bridge incarnation) and publishes it on a ZeroMQ PUB as one frame,
``tag + b"\\n\\n" + msgpack(data)`` (saltsim.wire), keeping Salt's ``_stamp``. Another
thread takes frames from a ZeroMQ PULL and fires them onto Salt's bus with the event
API, as ``salt-run event.send`` does, so host events (the runner's sentinels, ``fire``
steps, the readiness probe) pass through Salt's bus and come back in its order.

What ``_seq`` proves: nothing was lost between this bridge and a listener. What it
cannot prove: that Salt delivered every event to the bridge. Salt numbers nothing, so
an event Salt fired before the bridge subscribed (a master's first seconds, the gap of
a restart) or that Salt's publisher dropped is invisible here.
"""

from __future__ import annotations

import logging
import os
import threading
import uuid
from typing import Any

import salt.config
import salt.utils.event
import salt.version
import zmq

from saltsim.curve import CurveServer
from saltsim.stamp import Stamper
from saltsim.wire import pack_frame, unpack_frame

__all__ = ["BUS_START_TAG", "Bridge"]

log = logging.getLogger(__name__)

BUS_START_TAG = "saltsim/bus/start"  # as saltsim's bus: a new _seq epoch, from the bridge


class Bridge:
    """Forwarder of one salt-master's bus; ``run()`` blocks until ``stop()``."""

    def __init__(self, config: str, pub: str, pull: str, curve: CurveServer | None = None) -> None:
        self.opts: dict[str, Any] = salt.config.master_config(config)
        self.curve = curve  # both sockets CURVE servers, letting in only these client keys
        self.refused = 0
        self.pub_address, self.pull_address = pub, pull
        self.seq = 0
        self.forwarded = 0
        self.dropped = 0
        self._stop = threading.Event()
        self._ctx = zmq.Context()
        self._stamper = Stamper("3008")

    def stop(self) -> None:
        self._stop.set()

    def callback(self, domain: str, key: bytes) -> bool:
        """The ZAP authenticator's question about each CURVE handshake."""
        allowed = self.curve is not None and self.curve.allows(domain, key)
        if not allowed:
            self.refused += 1
            log.warning("bridge: refused a CURVE client key %s", key)
        return allowed

    def authenticate(self) -> Any:
        """Start the ZAP authenticator for ``curve`` (the caller stops it)."""
        from zmq.auth.thread import ThreadAuthenticator

        auth = ThreadAuthenticator(self._ctx, log=log.getChild("zap"))
        auth.start()
        auth.configure_curve_callback(domain="*", credentials_provider=self)
        return auth

    def _event(self, listen: bool) -> Any:
        return salt.utils.event.get_master_event(self.opts, self.opts["sock_dir"], listen=listen)

    def _connect(self) -> Any:
        """Salt's bus, subscribed: retried until salt-master has made its IPC socket."""
        while not self._stop.is_set():
            event = self._event(listen=True)
            if event.connect_pub(timeout=1):
                return event
            event.destroy()
            self._stop.wait(0.2)  # salt-master is still starting
        return None

    def run(self) -> None:
        pub = self._ctx.socket(zmq.PUB)
        pub.setsockopt(zmq.LINGER, 0)
        pub.setsockopt(zmq.SNDHWM, 200_000)
        if self.curve is not None:
            self.curve.apply(pub)
        pub.bind(self.pub_address)
        firer = threading.Thread(target=self._fire_loop, name="bridge-fire", daemon=True)
        try:
            event = self._connect()
            if event is None:
                return
            # As saltsim's bus announces itself (bus_id: this incarnation; a listener and
            # the scenarios tell restarts apart by it).
            announce = {
                "bus_id": uuid.uuid4().hex,
                "pid": os.getpid(),
                "salt": salt.version.__version__,
            }
            self._publish(pub, BUS_START_TAG, {**announce, "source": "saltsim_saltbridge"})
            log.info("bridge: subscribed to Salt's bus; publishing on %s", self.pub_address)
            firer.start()
            while not self._stop.is_set():
                got = event.get_event(wait=0.5, full=True, auto_reconnect=True)
                if got is None:
                    continue
                tag, data = got.get("tag"), got.get("data")
                if not isinstance(tag, str) or not tag or not isinstance(data, dict):
                    self.dropped += 1  # saltsim frames need a tag and a mapping
                    log.warning("bridge: dropped an event it cannot frame: %.200r", got)
                    continue
                self._publish(pub, tag, data)
        finally:
            pub.close(0)

    def _publish(self, pub: Any, tag: str, data: dict[Any, Any]) -> None:
        self.seq += 1
        body = {**data, "_seq": self.seq}
        body.setdefault("_stamp", self._stamper())
        try:
            pub.send(pack_frame(tag, body))
        except (ValueError, TypeError) as exc:  # a tag with a blank line, unpackable data
            self.dropped += 1
            log.warning("bridge: dropped %r: %s", tag, exc)
            return
        self.forwarded += 1

    def _fire_loop(self) -> None:
        """Host frames onto Salt's bus; Salt stamps them (the host's private keys dropped)."""
        pull = self._ctx.socket(zmq.PULL)
        pull.setsockopt(zmq.LINGER, 0)
        if self.curve is not None:
            self.curve.apply(pull)
        pull.bind(self.pull_address)
        firer = self._event(listen=False)
        try:
            while not self._stop.is_set():
                if not pull.poll(500):
                    continue
                try:
                    tag, data = unpack_frame(pull.recv())
                except ValueError as exc:
                    log.warning("bridge: bad frame from the host dropped: %s", exc)
                    continue
                clean = {k: v for k, v in data.items() if k not in ("_seq", "_stamp")}
                if not firer.fire_event(clean, tag):
                    log.warning("bridge: Salt's bus refused %r", tag)
        finally:
            pull.close(0)
            firer.destroy()
