"""The bus across real processes: several firers and listeners, bad frames, stalls, restarts."""

from __future__ import annotations

import multiprocessing as mp
import os
import random
from collections.abc import Callable
from multiprocessing.synchronize import Event as MpEvent
from typing import Any

import msgpack
import pytest
import zmq

from saltsim.bus import BUS_START_TAG
from saltsim.busprocess import BusProcess
from saltsim.client import EventClient
from saltsim.deadline import Deadline
from saltsim.testbed.local import free_ports
from saltsim.wire import pack_frame

pytestmark = pytest.mark.functional

FIRERS, LISTENERS, PER_FIRER = 3, 3, 4_000


def fire_many(pull: str, pub: str, firer: int, count: int, go: Any) -> None:
    go.wait(30)
    with EventClient(pub, pull, listen=False) as client:
        for n in range(count):
            assert client.fire_event({"firer": firer, "n": n}, f"test/fire/{firer}")


def listen_all(pub: str, pull: str, expect: int, armed: MpEvent, out: Any) -> None:
    with EventClient(pub, pull, hwm=100_000) as client:
        client.wait_ready(20)
        armed.set()
        got: list[tuple[int, int, int]] = []
        while len(got) < expect:
            event = client.next_event(30, "test/fire/")
            if event is None:
                break
            assert event.seq is not None
            got.append((event.data["firer"], event.data["n"], event.seq))
        out.put({"got": got, "lost": client.lost, "bad": client.counters.bad_frames})


def test_several_firers_and_listeners_lose_nothing_and_keep_order() -> None:
    ctx = mp.get_context("spawn")
    with BusProcess(hwm=100_000) as bus:
        go, out = ctx.Event(), ctx.Queue()
        armed = [ctx.Event() for _ in range(LISTENERS)]
        expect = FIRERS * PER_FIRER
        procs = [
            ctx.Process(
                target=listen_all, args=(bus.pub_address, bus.pull_address, expect, armed[i], out)
            )
            for i in range(LISTENERS)
        ]
        procs += [
            ctx.Process(
                target=fire_many, args=(bus.pull_address, bus.pub_address, f, PER_FIRER, go)
            )
            for f in range(FIRERS)
        ]
        for proc in procs:
            proc.start()
        try:
            assert all(event.wait(30) for event in armed)
            go.set()
            results = [out.get(timeout=120) for _ in range(LISTENERS)]
        finally:
            for proc in procs:
                proc.join(30)
                if proc.is_alive():
                    proc.kill()
        stats = bus.stop()
    for result in results:
        got = result["got"]
        assert len(got) == expect and result["lost"] == 0 and result["bad"] == 0
        assert len(set((f, n) for f, n, _ in got)) == expect
        for firer in range(FIRERS):  # per-publisher order kept
            assert [n for f, n, _ in got if f == firer] == list(range(PER_FIRER))
        seqs = [s for _, _, s in got]  # bus order, no gap among these events
        assert seqs == sorted(seqs) and seqs[-1] - seqs[0] == expect - 1
    assert stats["bad_frames"] == 0 and stats["published"] >= expect


def test_thousands_of_bad_frames_are_counted_and_every_good_one_arrives() -> None:
    rng = random.Random(7)
    bad_frames: list[Callable[[], bytes]] = [
        lambda: os.urandom(rng.randint(1, 200)),  # random bytes (may lack a separator)
        lambda: b"test/bad\n\n" + msgpack.packb({"a": "x" * 50})[: rng.randint(1, 40)],
        lambda: b"test/bad\n\n" + msgpack.packb([1, 2, 3]),  # not a map
        lambda: b"test/bad\n\n" + msgpack.packb("text"),
        lambda: b"\n\n" + msgpack.packb({}),  # empty tag
        lambda: b"\xff\xfe\n\n" + msgpack.packb({}),  # tag not UTF-8
        lambda: b"no separator at all",
    ]
    good, bad = 3_000, 3_000
    with (
        BusProcess() as bus,
        EventClient(bus.pub_address, bus.pull_address, hwm=100_000) as listener,
    ):
        listener.wait_ready(20)
        ctx = zmq.Context()
        push = ctx.socket(zmq.PUSH)
        push.setsockopt(zmq.LINGER, 5000)
        push.connect(bus.pull_address)
        sent_bad = 0
        for n in range(good):
            push.send(pack_frame("test/good", {"n": n}))
            push.send(bad_frames[n % len(bad_frames)]())
            sent_bad += 1
        push.close()
        ctx.term()
        received = [listener.wait_for("test/good", 30).data["n"] for _ in range(good)]
        assert received == list(range(good))
        assert listener.lost == 0 and listener.counters.bad_frames == 0
        listener.fire_event({"still": "working"}, "test/after")
        assert listener.wait_for("test/after", 20).data == {"still": "working"}
        stats = bus.stop()
    assert sent_bad == bad
    random_ok = sum(1 for n in range(good) if n % len(bad_frames) == 0)
    # random bytes can, very rarely, form a valid frame; everything else must be refused
    assert bad - random_ok <= stats["bad_frames"] <= bad
    assert set(stats["bad_by_reason"]) <= {"no tag", "not utf-8", "bad msgpack", "not a map"}


def test_stalled_subscriber_costs_bounded_memory_and_sees_its_loss() -> None:
    def rss_kib(pid: int) -> int:
        with open(f"/proc/{pid}/status") as status:
            line = next(x for x in status if x.startswith("VmRSS:"))
        return int(line.split()[1])

    with (
        BusProcess(hwm=1_000) as bus,
        EventClient(bus.pub_address, bus.pull_address, hwm=1_000) as stalled,
        EventClient(bus.pub_address, bus.pull_address, hwm=200_000) as healthy,
    ):
        stalled.wait_ready(20)
        healthy.wait_ready(20)
        stalled.fire_event({}, "test/mark")
        mark = stalled.wait_for("test/mark", 20)
        base_received, base_lost = stalled.counters.received, stalled.lost
        before = rss_kib(bus.pid)
        total, burst = 100_000, 500  # a burst fits the bus's queue
        payload = {"pad": "x" * 180}
        for start in range(0, total, burst):
            for n in range(start, start + burst):
                healthy.fire_event({**payload, "n": n}, "test/flood")
            # the healthy listener keeps up (arm, act, wait): the last of the burst arrives
            deadline, last = Deadline(30), start + burst - 1
            while healthy.wait_for("test/flood", deadline.remaining()).data["n"] != last:
                pass
        grown_mib = (rss_kib(bus.pid) - before) / 1024
        assert healthy.lost == 0
        assert grown_mib < 64, f"bus grew {grown_mib:.1f} MiB behind a stalled subscriber"
        seen = 0
        while stalled.next_event(0.5, "test/flood") is not None:
            seen += 1
        stalled.fire_event({}, "test/end")
        end = stalled.wait_for("test/end", 20)
        assert end.seq is not None and mark.seq is not None
        received = stalled.counters.received - base_received
        lost = stalled.lost - base_lost
        assert 0 < seen < total and lost > 0
        assert received + lost == end.seq - mark.seq  # every event seen or counted lost


def test_restarted_bus_is_told_apart_from_loss() -> None:
    """A listener that rejoins before the new bus overtakes the old ``_seq`` sees it go
    backwards and counts a restart, not a loss. (One that rejoins later cannot tell: see
    docs/library.md's note on restarts.)"""
    pull_port, pub_port = free_ports(2)
    pull, pub = f"tcp://127.0.0.1:{pull_port}", f"tcp://127.0.0.1:{pub_port}"
    with EventClient(pub, pull) as listener:
        with BusProcess(pull, pub):
            listener.wait_ready(20)
            for n in range(500):  # the old incarnation ends far ahead of the new one
                listener.fire_event({"n": n}, "test/before")
            deadline = Deadline(20)
            while listener.wait_for("test/before", deadline.remaining()).data["n"] != 499:
                pass
        lost_before = listener.lost
        with BusProcess(pull, pub):
            listener.wait_ready(30)  # at most a few dozen probes: far below 500
            listener.fire_event({"n": 2}, "test/after")
            assert listener.wait_for("test/after", 20).data == {"n": 2}
        assert listener.counters.restarts == 1
        # what the new bus published before the listener rejoined is the only loss
        assert listener.lost - lost_before < 100
    assert BUS_START_TAG == "saltsim/bus/start"


def test_held_bus_publishes_nothing_until_a_first_subscriber_joins() -> None:
    """A (re)started bus with ``hold`` keeps what is fired before anyone listens, so the
    first listener sees it all from ``_seq`` 1: the announcement, then the early events."""
    from saltsim.bus import EventBus

    with EventBus("tcp://127.0.0.1:0", "tcp://127.0.0.1:0", hold=20.0) as bus:
        with EventClient(bus.pub_address, bus.pull_address, listen=False) as firer:
            for n in range(3):
                assert firer.fire_event({"n": n}, "test/early")
        with EventClient(bus.pub_address, bus.pull_address) as late:
            late.subscribe("")
            first = late.wait_for("", 20)
            early = [late.wait_for("test/early", 20) for _ in range(3)]
    assert (first.tag, first.seq) == (BUS_START_TAG, 1)
    assert [e.data["n"] for e in early] == [0, 1, 2] and [e.seq for e in early] == [2, 3, 4]
    assert late.lost == 0
