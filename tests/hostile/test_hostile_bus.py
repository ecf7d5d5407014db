"""Hostile input at the master's bus while an authorised listener keeps receiving.

The master's bus runs CURVE on its TCP ports (``bus_remote: curve``) as in compose.
Unauthorised clients send random bytes and ZeroMQ greetings (NULL, PLAIN, CURVE, with
random handshake bytes after them) at both ports, and strangers with CURVE keys the
master was not given subscribe and push; then an authorised firer pushes malformed
frames (random bytes, bad tags, non-map payloads, hostile msgpack maps, multipart). The
bus must keep serving: the authorised listener, armed before and read after, sees every
published event with no gap in ``_seq``, and the master answers. Bounded in examples
and time; the counts print with ``-s`` (docs/SECURITY.md's figures).
"""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Iterator
from typing import Any

import msgpack
import pytest
import zmq
from hostile_strategies import hostile_maps, hostile_values
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from saltsim.client import EventClient
from saltsim.curve import CurveClient
from saltsim.testbed.local import LocalTestbed
from saltsim.wire import _default as wire_default

pytestmark = [pytest.mark.hostile, pytest.mark.functional]

EXAMPLES = 300  # per Hypothesis run
BUDGET = 20.0  # seconds of fuzzing per test; past it the remaining examples send nothing
STRANGERS = 30  # zmq clients with CURVE keys the master was not given
DEADLINE = 30.0
_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)


def _greeting(mechanism: bytes, as_server: int, minor: int) -> bytes:
    """A ZMTP 3.x greeting: signature, version, mechanism (20 bytes), as-server, filler."""
    return (
        (b"\xff" + b"\x00" * 8 + b"\x7f" + bytes((3, minor)) + mechanism.ljust(20, b"\x00"))
        + bytes((as_server,))
        + b"\x00" * 31
    )


handshakes = st.one_of(
    st.binary(max_size=512),
    st.builds(
        lambda g, tail: g + tail,
        st.builds(
            _greeting,
            st.sampled_from([b"NULL", b"PLAIN", b"CURVE", b"GSSAPI", b"\xff" * 20]),
            st.integers(0, 1),
            st.integers(0, 1),
        ),
        st.binary(max_size=600),  # a HELLO of the wrong size, random boxes, anything
    ),
)

_tags = st.one_of(
    st.text(max_size=24).map(str.encode),
    st.binary(max_size=24),
    st.just(b"salt/key"),
)


def _pack(value: Any) -> bytes:
    """msgpack as the wire packs it (Salt's datetime extension included), any value."""
    packed: bytes = msgpack.packb(value, default=wire_default, datetime=False)
    return packed


malformed_frames = st.one_of(
    st.binary(max_size=256),
    st.builds(lambda tag, body: tag + b"\n\n" + body, _tags, st.binary(max_size=128)),
    st.builds(
        lambda tag, value: tag + b"\n\n" + _pack(value),
        _tags,
        st.one_of(hostile_values, hostile_maps),
    ),
)


class Budget:
    """Counts what was sent; after ``BUDGET`` seconds, sends nothing more."""

    def __init__(self) -> None:
        self.began = time.monotonic()
        self.sent = 0
        self.skipped = 0

    def spend(self) -> bool:
        if time.monotonic() - self.began > BUDGET:
            self.skipped += 1
            return False
        self.sent += 1
        return True


@pytest.fixture
def bed() -> Iterator[LocalTestbed]:
    with LocalTestbed(master_options={"bus_remote": "curve"}) as testbed:
        yield testbed


def _bus_stats(bed: LocalTestbed) -> dict[str, Any]:
    with bed.client() as client:
        stats: dict[str, Any] = client.call({"cmd": "stats"}, timeout=10)["bus"]
    return stats


def _still_serving(bed: LocalTestbed, listener: EventClient) -> int:
    """Fire probes with the testbed's keys; the armed listener sees everything published
    since it armed, in order, without a gap. Returns the events it read."""
    assert bed.bus_curve is not None
    with EventClient(bed.bus_pub, bed.bus_pull, listen=False, curve=bed.bus_curve) as firer:
        for n in range(20):
            assert firer.fire_event({"n": n}, "test/hostile/probe")
    seen = listener.collect(DEADLINE)
    probes = [e.data["n"] for e in seen if e.tag == "test/hostile/probe"]
    assert probes == list(range(20))
    seqs = [e.seq for e in seen if e.seq is not None]
    assert len(seqs) == len(seen), "an event without _seq"
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), "a gap in _seq"
    assert listener.lost == 0 and listener.counters.restarts == 0
    with bed.listener() as fresh:  # and a new authorised listener still arms
        assert fresh.counters.received >= 1
    return len(seen)


def test_unauthorised_handshakes_and_strangers_do_not_disturb_the_bus(
    bed: LocalTestbed,
) -> None:
    assert bed.bus_curve is not None
    ports = (bed.ports["bus_pub_port"], bed.ports["bus_pull_port"])
    budget = Budget()
    with bed.listener() as listener:

        @_SETTINGS
        @given(data=handshakes, to_pull=st.booleans())
        def raw(data: bytes, to_pull: bool) -> None:
            if not budget.spend():
                return
            with (
                socket.create_connection(("127.0.0.1", ports[to_pull]), timeout=5) as sock,
                contextlib.suppress(OSError),  # the bus hung up first: a refusal too
            ):
                sock.sendall(data)

        raw()
        ctx: zmq.Context[Any] = zmq.Context()
        try:
            socks = []
            for n in range(STRANGERS):
                sock = ctx.socket(zmq.SUB if n % 2 else zmq.PUSH)
                sock.setsockopt(zmq.LINGER, 0)
                CurveClient.generate(bed.bus_curve.server_key).apply(sock)
                if n % 2:
                    sock.setsockopt(zmq.SUBSCRIBE, b"")
                    sock.connect(bed.bus_pub)
                else:
                    sock.connect(bed.bus_pull)
                    sock.send(b"salt/key\n\n\x80", zmq.NOBLOCK)  # queued, never delivered
                socks.append(sock)
            read = _still_serving(bed, listener)
            assert not any(s.poll(0) for s in socks if s.type == zmq.SUB)
        finally:
            # destroy, not term: term waits for every socket to close, so a failed check
            # above left the test hanging instead of failing
            ctx.destroy(linger=0)
        refused = _bus_stats(bed)["curve_refused"]
    print(
        f"\nbus: {budget.sent} raw connections of random bytes / ZMTP greetings "
        f"({budget.skipped} past the budget), {STRANGERS} clients with unknown CURVE keys "
        f"({refused} handshakes refused); 0 crashes, the authorised listener read {read} "
        "events with no _seq gap"
    )
    assert refused >= 1


def test_malformed_frames_from_an_authorised_firer_are_dropped(bed: LocalTestbed) -> None:
    assert bed.bus_curve is not None
    budget = Budget()
    ctx: zmq.Context[Any] = zmq.Context()
    push = ctx.socket(zmq.PUSH)
    push.setsockopt(zmq.LINGER, 2000)
    push.setsockopt(zmq.SNDTIMEO, 5000)
    bed.bus_curve.apply(push)
    push.connect(bed.bus_pull)
    try:
        with bed.listener() as listener:

            @_SETTINGS
            @given(frame=malformed_frames, parts=st.integers(1, 3))
            def fire(frame: bytes, parts: int) -> None:
                if budget.spend():
                    push.send_multipart([frame] * parts)

            fire()
            read = _still_serving(bed, listener)
            bad = _bus_stats(bed)
    finally:
        push.close()
        ctx.term()
    print(
        f"\nbus: {budget.sent} malformed messages (1-3 frames each) from an authorised "
        f"firer ({budget.skipped} past the budget): {bad['bad_frames']} dropped as malformed "
        f"{bad['bad_by_reason']}, {bad['published']} published; 0 crashes, the listener read "
        f"{read} events with no _seq gap, {listener.counters.bad_frames} it could not decode"
    )
    assert bad["bad_frames"] >= 1
