"""Hostile requests at the master's request port, while a live minion keeps answering.

One local master per test. A signed-in test minion sends hostile ``_pillar``,
``_return`` and ``_minion_event`` loads (bytes map keys, ~1,000 levels of nesting,
extreme ints, extension types); a client with the real token sends hostile
``publish`` / ``runner`` / ``key`` loads; raw frames (random bytes, hostile envelopes,
multipart messages) go straight at the port. Every frame must be answered (refused
with an error, or served), the refusal counters must move, the master must stay up,
and the live minion must answer ``test.ping`` throughout. Bounded in examples and time;
the counts print with ``-s`` (they are docs/SECURITY.md's figures).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any

import pytest
import zmq
from hostile_strategies import deep, hostile_maps, hostile_values
from hostile_support import RawMinion, pinged, refusals
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from saltsim.crypto import KeyPair
from saltsim.errors import FrameError
from saltsim.masterclient import MasterClient, MasterError, read_token
from saltsim.targeting import TGT_TYPES
from saltsim.testbed.local import LocalTestbed
from saltsim.wire import decode_data, encode_data

pytestmark = [pytest.mark.hostile, pytest.mark.functional]

EXAMPLES = 300  # per Hypothesis run; each example is one or a few frames
BUDGET = 25.0  # seconds of fuzzing per test; past it the remaining examples send nothing
PING_EVERY = 100  # frames between two test.pings of the live minion
_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)


@pytest.fixture
def bed() -> Iterator[LocalTestbed]:
    with LocalTestbed(master_options={"auto_accept": True}) as testbed:
        events = testbed.listener()
        events.subscribe("salt/minion/live/start")
        testbed.add_minion("live")
        events.wait_for("salt/minion/live/start", 20)
        events.close()
        yield testbed


class Tally:
    """Frames sent and answered; pings the live minion every ``PING_EVERY`` frames."""

    def __init__(self, bed: LocalTestbed) -> None:
        self.bed = bed
        self.frames = self.answered = self.pings = 0
        self.ends = time.monotonic() + BUDGET

    def over(self) -> bool:
        return time.monotonic() > self.ends

    def sent(self, reply: dict[Any, Any]) -> None:
        self.frames += 1
        assert isinstance(reply, dict), reply
        assert reply.get("ok") is True or (isinstance(reply.get("error"), str) and reply["error"])
        self.answered += 1
        if self.frames % PING_EVERY == 0:
            assert pinged(self.bed, "live"), f"live stopped answering after {self.frames} frames"
            self.pings += 1

    def finish(self, name: str, client: MasterClient, before: dict[str, int]) -> dict[str, int]:
        master = self.bed._master
        assert master is not None and master.proc is not None and master.proc.poll() is None
        assert pinged(self.bed, "live")
        after = refusals(client)
        moved = {k: v - before.get(k, 0) for k, v in after.items() if v != before.get(k, 0)}
        print(
            f"\nhostile {name}: {self.frames} frames to the request port, {self.answered} "
            f"answered, 0 crashes, the live minion answered {self.pings + 1} pings throughout; "
            f"counters moved: {moved}"
        )
        return moved


def _minion_loads(jid: str) -> st.SearchStrategy[dict[Any, Any]]:
    cmd = st.one_of(
        st.sampled_from(["_pillar", "_return", "_minion_event", "_heartbeat"]), st.text()
    )
    optional = {
        "grains": st.one_of(hostile_maps, hostile_values, deep.map(lambda v: {"k": v})),
        "return": hostile_values,
        "jid": st.one_of(st.just(jid), st.text(max_size=24), hostile_values),
        "tag": st.one_of(st.sampled_from(["intruder/x", "salt/job/1/ret/x"]), hostile_values),
        "data": hostile_values,
        "pretag": hostile_values,
        "fun": hostile_values,
        "fun_args": hostile_values,
        "success": hostile_values,
        "retcode": hostile_values,
        "ts": hostile_values,
    }
    return st.fixed_dictionaries({"cmd": cmd}, optional=optional)


def test_hostile_minion_loads_never_end_the_master(bed: LocalTestbed) -> None:
    ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    intruder = RawMinion(ctx, bed, "intruder")
    with bed.client() as client:
        jid = client.publish("intruder", "test.ping")["jid"]  # a job whose cache it returns to
        before = refusals(client)
        tally = Tally(bed)
        # The reproductions of issue 12: each of these ended the master.
        for load in (
            {"cmd": "_pillar", "grains": {b"k": 1}},
            {"cmd": "_pillar", "grains": {"k": _nested(1000)}},
            {"cmd": "_return", "jid": jid, "return": {b"k": 1}, "success": True},
            {"cmd": "_minion_event", "tag": "intruder/deep", "data": {"k": _nested(1000)}},
        ):
            tally.sent(intruder.ask(load))
        looked_up = client.runner("jobs.lookup_jid", [jid])["return"]
        assert looked_up == {"intruder": {b"k": 1}}  # cached in a form that holds it

        @_SETTINGS
        @given(_minion_loads(jid))
        def one(load: dict[Any, Any]) -> None:
            if tally.over():
                return
            try:
                frame = intruder.seal(load)
            except FrameError:  # deeper than msgpack writes: nothing to send
                return
            intruder.sock.send(frame)
            tally.sent(intruder.reply(10))

        one()
        moved = tally.finish("minion loads", client, before)
    intruder.close()
    ctx.term()
    assert sum(moved.values()) > 0


def _nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = {"k": value}
    return value


def _client_loads() -> st.SearchStrategy[dict[Any, Any]]:
    publish = st.fixed_dictionaries(
        {"cmd": st.just("publish")},
        optional={
            "tgt": st.one_of(
                st.sampled_from(["(", "*", "live", "E@(", "G@a:(", "a and ("]), hostile_values
            ),
            "tgt_type": st.one_of(st.sampled_from(TGT_TYPES), hostile_values),
            "fun": st.one_of(st.sampled_from(["hostile.nothing"]), hostile_values),
            "arg": hostile_values,
            "user": hostile_values,
        },
    )
    # Runners that answer at once (no test.sleep, no cloud, no waiting manage.status).
    runner = st.fixed_dictionaries(
        {"cmd": st.just("runner")},
        optional={
            "fun": st.one_of(
                st.sampled_from(["test.arg", "jobs.lookup_jid", "jobs.list_job", "nope"]),
                hostile_values,
            ),
            "arg": hostile_values,
            "kwarg": hostile_values,
        },
    )
    # Key actions that change nothing (the live minion's key must stay accepted).
    key = st.fixed_dictionaries(
        {"cmd": st.just("key")},
        optional={
            "fun": st.one_of(st.sampled_from(["list", "finger", "nope"]), hostile_values).filter(
                lambda fun: fun not in ("accept", "reject", "delete")
            ),
            "match": hostile_values,
        },
    )
    other = st.fixed_dictionaries({"cmd": st.text(max_size=10)}, optional={"x": hostile_values})
    return st.one_of(publish, runner, key, other)


def test_hostile_client_loads_are_answered(bed: LocalTestbed) -> None:
    token = read_token(bed.master_options["pki_dir"])
    ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    sock = ctx.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.connect(f"tcp://127.0.0.1:{bed.ports['ret_port']}")
    with bed.client() as client:
        before = refusals(client)
        tally = Tally(bed)

        @_SETTINGS
        @given(_client_loads())
        def one(load: dict[Any, Any]) -> None:
            if tally.over():
                return
            try:
                frame = encode_data({"enc": "client", "token": token, "rid": 7, "load": load})
            except FrameError:
                return
            sock.send(frame)
            assert sock.poll(10_000), f"no answer to {load!r:.200}"
            tally.sent(decode_data(sock.recv()))

        one()
        with pytest.raises(MasterError, match="invalid regular expression"):
            client.publish("(", "test.ping", tgt_type="pcre")
        tally.finish("client loads", client, before)
    sock.close(0)
    ctx.term()


_ENVELOPES = st.fixed_dictionaries(
    {},
    optional={
        "enc": st.one_of(st.sampled_from(["aes", "clear", "client", "rot13"]), hostile_values),
        "id": st.one_of(st.sampled_from(["live", "intruder", "web1\n"]), hostile_values),
        "rid": hostile_values,
        "token": hostile_values,
        "load": st.one_of(hostile_maps, hostile_values, st.binary(max_size=64)),
    },
)
_AUTHS = st.fixed_dictionaries(
    {
        "enc": st.just("clear"),
        "rid": hostile_values,
        "load": st.fixed_dictionaries(
            {"cmd": st.just("_auth")},
            optional={
                "id": st.one_of(
                    st.sampled_from(["web1\n", "../etc", "", "a" * 200]), hostile_values
                ),
                "pub": st.one_of(
                    st.sampled_from(["", "-----BEGIN PUBLIC KEY-----"]), hostile_values
                ),
            },
        ),
    }
)
_RAW = st.one_of(
    st.binary(max_size=256),  # random bytes
    _ENVELOPES.map(lambda envelope: [envelope]),
    _AUTHS.map(lambda envelope: [envelope]),
    st.lists(st.binary(max_size=32), min_size=2, max_size=4),  # multipart: one request, 3+ frames
)


def test_hostile_raw_frames_are_refused_and_counted(bed: LocalTestbed) -> None:
    ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    sock = ctx.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.connect(f"tcp://127.0.0.1:{bed.ports['ret_port']}")
    with bed.client() as client:
        before = refusals(client)
        tally = Tally(bed)

        @_SETTINGS
        @given(_RAW)
        def one(raw: Any) -> None:
            if tally.over():
                return
            if isinstance(raw, bytes):
                sock.send(raw)
            elif isinstance(raw[0], dict):
                try:
                    sock.send(encode_data(raw[0]))
                except FrameError:
                    return
            else:
                sock.send_multipart(raw)
            assert sock.poll(10_000), f"no answer to {raw!r:.200}"
            tally.sent(decode_data(sock.recv()))

        one()
        for _ in range(50):  # and plain noise, as a port scanner would send
            sock.send(os.urandom(64))
            assert sock.poll(10_000)
            tally.sent(decode_data(sock.recv()))
        # A genuine key under an id with a trailing newline: a look-alike of web1 (item 8).
        auth = {"cmd": "_auth", "id": "web1\n", "pub": KeyPair.generate().public_pem}
        sock.send(encode_data({"enc": "clear", "rid": 9, "load": auth}))
        assert sock.poll(10_000)
        look_alike = decode_data(sock.recv())
        tally.sent(look_alike)
        assert look_alike["ok"] is False and "invalid minion id" in look_alike["error"]
        moved = tally.finish("raw frames", client, before)
        assert client.key("list")["accepted"] == ["live"]
    sock.close(0)
    ctx.term()
    assert moved.get("bad msgpack", 0) > 0 and moved.get("bad auth", 0) > 0
