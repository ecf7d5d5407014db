"""``make bench-bus``: the event bus against raw pyzmq PUB/SUB, in one run, same events.

(a) raw: PUB → SUB between two processes, the same one-frame layout and msgpack.
(b) saltsim: fire_event (process 1) → EventBus (process 2) → next_event (process 3).
(c) fire→receive latency at a paced 1,000 events/s, for both.
(d) the sync fire_event rate from plain code in one process.
(e) loss when saltsim is paced at half of raw's rate.
Throughput is the receiver's rate over a lossless run. A benchmark prints; it never asserts.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import statistics
import time
from multiprocessing.synchronize import Event as MpEvent
from pathlib import Path
from typing import Any

import msgpack
import zmq

from saltsim.bus import EventBus
from saltsim.client import EventClient
from saltsim.testbed.local import free_ports

TAG = "salt/job/20261124010203123456/ret/minion-17"
PAYLOAD: dict[str, Any] = {
    "id": "minion-17",
    "cmd": "_return",
    "fun": "test.ping",
    "retcode": 0,
    "return": "x" * 80,
    "jid": "20261124010203123456",
    "success": True,
    "n": 0,
    "t": 0,
}
ANNOUNCE = b"bench/hello"


def _frame(n: int, t: int) -> bytes:
    body: bytes = msgpack.packb({**PAYLOAD, "n": n, "t": t})
    return TAG.encode() + b"\n\n" + body


def _pace(rate: float, n: int, started: float) -> None:
    """Busy-free pacing: sleep until event ``n`` is due (a benchmark, not a test)."""
    due = started + n / rate
    delay = due - time.perf_counter()
    if delay > 0.0005:
        time.sleep(delay)


# -- (a) raw pyzmq ---------------------------------------------------------------------
def raw_sender(address: str, count: int, rate: float, ready: MpEvent) -> None:
    ctx = zmq.Context()
    pub = ctx.socket(zmq.PUB)
    pub.setsockopt(zmq.SNDHWM, 0)
    pub.bind(address)
    while not ready.is_set():  # slow joiner: announce until the subscriber hears it
        pub.send(ANNOUNCE)
        ready.wait(0.01)
    started = time.perf_counter()
    for n in range(count):
        if rate:
            _pace(rate, n, started)
        pub.send(_frame(n, time.monotonic_ns()))
    pub.send(b"bench/end\n\n" + msgpack.packb({}))
    pub.close(linger=5000)
    ctx.term()


def raw_receiver(address: str, count: int, ready: MpEvent, out: Any) -> None:
    ctx = zmq.Context()
    sub = ctx.socket(zmq.SUB)
    sub.setsockopt(zmq.RCVHWM, 0)
    sub.setsockopt(zmq.SUBSCRIBE, b"")
    sub.connect(address)
    while sub.recv() != ANNOUNCE:
        pass
    ready.set()
    latencies, got, first, last = [], 0, 0.0, 0.0
    while True:
        if not sub.poll(10_000):
            break
        frame = sub.recv()
        if frame == ANNOUNCE:
            continue
        now = time.monotonic_ns()
        tag, _, body = frame.partition(b"\n\n")
        data = msgpack.unpackb(body)
        if tag == b"bench/end":
            break
        got += 1
        last = time.perf_counter()
        first = first or last
        latencies.append(now - data["t"])
    out.put(
        {"received": got, "seconds": last - first, "lost": count - got, "latency_ns": latencies}
    )
    ctx.term()


# -- (b) saltsim -----------------------------------------------------------------------
def bus_process(pull: str, pub: str, stop: MpEvent, hwm: int = 0) -> None:
    bus = EventBus(pull, pub, hwm=hwm)
    bus.start()
    stop.wait()
    bus.stop()


def saltsim_firer(
    pub: str, pull: str, count: int, rate: float, ready: MpEvent, hwm: int = 0
) -> None:
    client = EventClient(pub, pull, listen=False, hwm=hwm)
    ready.wait(30)
    started = time.perf_counter()
    for n in range(count):
        if rate:
            _pace(rate, n, started)
        client.fire_event({**PAYLOAD, "n": n, "t": time.monotonic_ns()}, TAG)
    client.fire_event({}, "bench/end")
    client.close()


def saltsim_receiver(
    pub: str, pull: str, count: int, ready: MpEvent, out: Any, hwm: int = 0
) -> None:
    client = EventClient(pub, pull, hwm=hwm)
    client.wait_ready(20)
    ready.set()
    latencies, got, first, last = [], 0, 0.0, 0.0
    while True:
        event = client.next_event(10, "salt/")
        if event is None:
            break
        now = time.monotonic_ns()
        got += 1
        last = time.perf_counter()
        first = first or last
        latencies.append(now - event.data["t"])
        if got == count:
            break
    out.put(
        {
            "received": got,
            "seconds": last - first,
            "lost": count - got,
            "latency_ns": latencies,
            "listener_lost": client.lost,
        }
    )
    client.close()


# -- runs ------------------------------------------------------------------------------
def run_raw(count: int, rate: float = 0) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    (port,) = free_ports(1)
    address = f"tcp://127.0.0.1:{port}"
    ready, out = ctx.Event(), ctx.Queue()
    procs = [
        ctx.Process(target=raw_receiver, args=(address, count, ready, out)),
        ctx.Process(target=raw_sender, args=(address, count, rate, ready)),
    ]
    return _collect(procs, out)


def run_saltsim(count: int, rate: float = 0, hwm: int = 0) -> dict[str, Any]:
    """hwm 0 (unbounded, as raw's run) measures capacity; the default 10,000 is what users
    get, where a slow listener loses events and sees it in ``lost``."""
    ctx = mp.get_context("spawn")
    pull_port, pub_port = free_ports(2)
    pull, pub = f"tcp://127.0.0.1:{pull_port}", f"tcp://127.0.0.1:{pub_port}"
    stop, ready, out = ctx.Event(), ctx.Event(), ctx.Queue()
    bus = ctx.Process(target=bus_process, args=(pull, pub, stop, hwm))
    bus.start()
    try:
        procs = [
            ctx.Process(target=saltsim_receiver, args=(pub, pull, count, ready, out, hwm)),
            ctx.Process(target=saltsim_firer, args=(pub, pull, count, rate, ready, hwm)),
        ]
        return _collect(procs, out)
    finally:
        stop.set()
        bus.join(10)
        if bus.is_alive():
            bus.kill()


def _collect(procs: list[Any], out: Any) -> dict[str, Any]:
    for proc in procs:
        proc.start()
    try:
        result: dict[str, Any] = out.get(timeout=180)
    finally:
        for proc in procs:
            proc.join(10)
            if proc.is_alive():
                proc.kill()
    lat = sorted(result.pop("latency_ns"))
    seconds = result["seconds"] or 1e-9
    result["rate"] = result["received"] / seconds
    if lat:
        result["p50_us"] = lat[len(lat) // 2] / 1000
        result["p99_us"] = lat[min(len(lat) - 1, int(len(lat) * 0.99))] / 1000
        result["mean_us"] = statistics.fmean(lat) / 1000
    return result


def sync_fire_rate(count: int) -> float:
    ctx = mp.get_context("spawn")
    pull_port, pub_port = free_ports(2)
    pull, pub = f"tcp://127.0.0.1:{pull_port}", f"tcp://127.0.0.1:{pub_port}"
    stop = ctx.Event()
    bus = ctx.Process(target=bus_process, args=(pull, pub, stop))
    bus.start()
    try:
        client = EventClient(pub, pull, hwm=0)
        client.wait_ready(20)
        started = time.perf_counter()
        for n in range(count):
            client.fire_event({**PAYLOAD, "n": n}, TAG)
        took = time.perf_counter() - started
        client.close()
        return count / took
    finally:
        stop.set()
        bus.join(10)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--latency-events", type=int, default=5_000)
    parser.add_argument("--quick", action="store_true", help="about 15 s")
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()
    count = 30_000 if args.quick else args.events
    lat_count = 1_000 if args.quick else args.latency_events
    frame_len = len(_frame(0, time.monotonic_ns()))
    print(
        f"bench-bus: {count} events of {frame_len} bytes; 2 cores; raw uses 2 processes, "
        "saltsim 3 (firer, bus, listener)",
        flush=True,
    )
    raw = run_raw(count)
    salt = run_saltsim(count)
    raw_lat = run_raw(lat_count, 1000)
    salt_lat = run_saltsim(lat_count, 1000)
    fire = sync_fire_rate(count)
    half = raw["rate"] / 2
    # about 2 s paced at half raw's rate, with the default bounded queues
    half_run = run_saltsim(min(count, int(half * 2)), half, hwm=10_000)
    results = {
        "events": count,
        "frame_bytes": frame_len,
        "raw": raw,
        "saltsim": salt,
        "raw_latency": raw_lat,
        "saltsim_latency": salt_lat,
        "sync_fire_per_s": fire,
        "half_rate": half,
        "half_rate_run": half_run,
        "throughput_ratio": salt["rate"] / raw["rate"],
        "p99_ratio": salt_lat["p99_us"] / raw_lat["p99_us"],
    }
    rows = [
        ("throughput raw (a)", f"{raw['rate']:,.0f}/s", f"lost {raw['lost']}", ""),
        (
            "throughput saltsim (b)",
            f"{salt['rate']:,.0f}/s",
            f"lost {salt['lost']}",
            f"{results['throughput_ratio']:.2f}x raw; target >= 0.80 "
            f"{'PASS' if results['throughput_ratio'] >= 0.8 else 'MISS'}",
        ),
        (
            "latency raw @1k/s (c)",
            f"p50 {raw_lat['p50_us']:.0f} us",
            f"p99 {raw_lat['p99_us']:.0f} us",
            "",
        ),
        (
            "latency saltsim @1k/s (c)",
            f"p50 {salt_lat['p50_us']:.0f} us",
            f"p99 {salt_lat['p99_us']:.0f} us",
            f"p99 {results['p99_ratio']:.2f}x raw; target <= 2.00 "
            f"{'PASS' if results['p99_ratio'] <= 2 else 'MISS'}",
        ),
        (
            "sync fire_event (d)",
            f"{fire:,.0f}/s",
            "",
            f"target >= 40,000/s {'PASS' if fire >= 40_000 else 'MISS'}",
        ),
        (
            "saltsim @ half raw rate (e)",
            f"{half:,.0f}/s",
            f"lost {half_run['lost']} (_seq gaps {half_run['listener_lost']})",
            f"target 0 lost {'PASS' if half_run['lost'] == 0 else 'MISS'}",
        ),
    ]
    width = max(len(r[0]) for r in rows)
    for name, a, b, c in rows:
        print(f"{name:<{width}}  {a:>18}  {b:>16}  {c}")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(results, indent=2))
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
