"""What the hostile tests share: a signed-in test minion over a raw socket, and the
master's refusal counters read through the client port's ``stats``.

The raw minion signs in as any minion would (``_auth`` in the clear, then sealed
requests with a rising counter), so whatever it sends reaches the master's request
handlers, not only the edge's checks.
"""

from __future__ import annotations

from typing import Any

import zmq

from saltsim.crypto import KeyPair, SessionCipher
from saltsim.masterclient import MasterClient
from saltsim.testbed.local import LocalTestbed
from saltsim.wire import decode_data, encode_data

__all__ = ["RawMinion", "pinged", "refusals"]


class RawMinion:
    """A DEALER socket signed in as ``minion_id``; ``seal`` builds a genuine request."""

    def __init__(self, ctx: zmq.Context[zmq.Socket[bytes]], bed: LocalTestbed, minion_id: str):
        self.minion_id = minion_id
        self.sock = ctx.socket(zmq.DEALER)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.connect(f"tcp://127.0.0.1:{bed.ports['ret_port']}")
        self.ctr = 0
        keys = KeyPair.generate()
        auth = {"cmd": "_auth", "id": minion_id, "pub": keys.public_pem}
        self.sock.send(encode_data({"enc": "clear", "rid": 0, "load": auth}))
        reply = self.reply(20)
        assert reply.get("act") == "accept", reply
        self.cipher = SessionCipher(keys.decrypt(reply["request_key"]))

    def seal(self, load: dict[Any, Any], rid: Any = 1) -> bytes:
        """``load`` (any msgpack map) sealed with the next counter, as the minion sends."""
        self.ctr += 1
        sealed = self.cipher.seal({**load, "ctr": self.ctr}, self.minion_id.encode())
        return encode_data({"enc": "aes", "id": self.minion_id, "rid": rid, "load": sealed})

    def reply(self, timeout: float) -> dict[Any, Any]:
        assert self.sock.poll(int(timeout * 1000)), f"no answer within {timeout}s"
        return decode_data(self.sock.recv())

    def ask(self, load: dict[Any, Any], timeout: float = 10) -> dict[Any, Any]:
        self.sock.send(self.seal(load))
        return self.reply(timeout)

    def close(self) -> None:
        self.sock.close(0)


def refusals(client: MasterClient) -> dict[str, int]:
    """The master's refusal and failure counters, by reason, as ``/stats`` shows them."""
    counted: dict[str, int] = client.call({"cmd": "stats"}, timeout=10)["refused"]
    return counted


def pinged(bed: LocalTestbed, minion_id: str, timeout: float = 20) -> bool:
    """Does ``minion_id`` answer ``test.ping`` through the master within ``timeout``?"""
    with bed.client() as client:
        returns, _ = client.cmd(minion_id, "test.ping", timeout=timeout)
    return returns.get(minion_id, {}).get("return") is True
