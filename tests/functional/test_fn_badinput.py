"""Thousands of bad requests at the request server while real minions keep working."""

from __future__ import annotations

import json
import os
from typing import Any

import msgpack
import pytest
import zmq

from saltsim.crypto import KeyPair, SessionCipher
from saltsim.testbed.local import LocalTestbed
from saltsim.wire import decode_data, encode_data

pytestmark = pytest.mark.functional


def _sign_in(sock: zmq.Socket[bytes], keys: KeyPair, minion_id: str) -> SessionCipher:
    """A test minion over raw sockets, to build a genuine sealed request to replay."""
    sock.send(
        encode_data(
            {
                "enc": "clear",
                "rid": 0,
                "load": {"cmd": "_auth", "id": minion_id, "pub": keys.public_pem},
            }
        )
    )
    assert sock.poll(20_000)
    reply = decode_data(sock.recv())
    assert reply["act"] == "accept", reply
    return SessionCipher(keys.decrypt(reply["request_key"]))


@pytest.fixture(scope="module")
def testbed_options() -> dict[str, Any]:
    return {"master_options": {"auto_accept": True, "max_load_size": 65536}}


def test_bad_requests_are_refused_counted_and_harmless(testbed: LocalTestbed) -> None:
    events = testbed.listener()
    events.subscribe("salt/minion/")
    for minion_id in ("ok1", "ok2"):
        testbed.add_minion(minion_id)
    for minion_id in ("ok1", "ok2"):
        events.wait_for(f"salt/minion/{minion_id}/start", 20)
    ctx = zmq.Context()
    sock = ctx.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.connect(f"tcp://127.0.0.1:{testbed.ports['ret_port']}")
    cipher = _sign_in(sock, KeyPair.generate(), "intruder")
    genuine = encode_data(
        {
            "enc": "aes",
            "id": "intruder",
            "rid": 1,
            "load": cipher.seal(
                {"cmd": "_minion_event", "tag": "intruder/once", "data": {}, "ctr": 1},
                b"intruder",
            ),
        }
    )
    other_key = SessionCipher(os.urandom(32))
    bad = [
        os.urandom(64),  # random bytes
        encode_data({"enc": "aes", "id": "ok1", "load": b"x" * 64})[:-5],  # truncated
        encode_data({"enc": "client", "token": "wrong", "load": {"cmd": "key"}}),
        encode_data({"enc": "clear", "load": {"cmd": "_return"}}),  # only _auth in clear
        encode_data({"enc": "rot13", "load": {}}),  # unknown enc
        encode_data(
            {
                "enc": "aes",
                "id": "ok1",  # forged: ok1's id, someone else's key
                "load": other_key.seal({"cmd": "_return", "ctr": 99}, b"ok1"),
            }
        ),
        msgpack.packb([1, 2, 3]),  # not a map
        b"\x00" * 70_000,  # oversize
    ]
    sock.send(genuine)
    rounds = 300
    for n in range(rounds):
        for frame in bad:
            sock.send(frame)
        sock.send(
            encode_data(
                {
                    "enc": "aes",
                    "id": "intruder",
                    "load": cipher.seal({"cmd": "_nope", "ctr": 1000 + n}, b"intruder"),
                }
            )
        )  # unknown cmd
        sock.send(genuine)  # replayed every round
    replies: list[dict[str, object]] = []
    while len(replies) < 1 + rounds * (len(bad) + 2) and sock.poll(20_000):
        replies.append(decode_data(sock.recv()))
    assert len(replies) == 1 + rounds * (len(bad) + 2)
    refused = [r for r in replies if not r.get("ok")]
    assert len(refused) == rounds * (len(bad) + 2)  # everything but the first genuine one
    assert all(isinstance(r.get("error"), str) and r["error"] for r in refused)
    with testbed.client() as client:
        returns, expected = client.cmd("ok*", "test.ping", timeout=20)
    assert sorted(returns) == ["ok1", "ok2"] == sorted(expected)
    tags = [e.tag for e in events.collect()]
    assert tags.count("intruder/once") == 1  # the replays never reached the bus
    assert events.lost == 0 and events.counters.bad_frames == 0
    sock.close()
    ctx.term()
    testbed.stop_master()
    log = (testbed.workdir / "logs" / "master.log").read_text()
    final = json.loads([line for line in log.splitlines() if '"stopped"' in line][-1])
    counted = final["refused"]
    assert counted["replay"] == rounds
    assert counted["oversize"] == rounds and counted["bad token"] == rounds
    assert counted["bad signature"] == rounds and counted["unknown cmd"] == rounds
    assert sum(counted.values()) == rounds * (len(bad) + 2)
