"""The churn benchmark's anchor: the same transport work in raw pyzmq, no saltsim.

One server process (a ROUTER that echoes, a PUB the clients subscribe to) and one
client process per churn process of the saltsim run, each with as many
concurrent clients as that process has minions: each client connects, does its
round trips of the cycle's request sizes, and closes, again and again until the
window ends. ``bench/churn.py`` runs it beside saltsim and prints the ratio.
"""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import time
from dataclasses import dataclass
from typing import Any

import zmq
import zmq.asyncio

__all__ = ["AUTH_BYTES", "MAX_RATE", "REQUEST_BYTES", "AnchorResult", "run_anchor"]

MAX_RATE = 5_000  # the cycle budget: this many a second of the window, far above reach
AUTH_BYTES, REQUEST_BYTES = 560, 240  # the cycle's request sizes


@dataclass
class AnchorResult:
    name: str
    round_trips: int
    with_sub: bool
    seconds: float
    cycles: int = 0
    failed: int = 0
    elapsed_s: float = 0.0

    @property
    def rate(self) -> float:
        return self.cycles / self.elapsed_s if self.elapsed_s else 0.0


def anchor_server(stop: Any, out: Any) -> None:
    """A ROUTER that echoes each request, and a PUB the clients subscribe to."""
    ctx = zmq.Context()
    router, pub = ctx.socket(zmq.ROUTER), ctx.socket(zmq.PUB)
    for sock in (router, pub):
        sock.setsockopt(zmq.LINGER, 0)
        sock.bind("tcp://127.0.0.1:0")
    out.put([s.getsockopt_string(zmq.LAST_ENDPOINT) for s in (router, pub)])
    while not stop.is_set():
        # libzmq frees a closed subscriber's pipe only when the PUB socket is used: a PUB
        # that never sends keeps ~15 KB per connection that came and went, unless touched.
        pub.getsockopt(zmq.EVENTS)
        if not router.poll(100):
            continue
        for _ in range(64):  # as the master: what is queued, in a batch
            try:
                identity, body = router.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                break
            router.send_multipart([identity, body])
    router.close(0)
    pub.close(0)
    ctx.term()


async def _anchor_client(
    ctx: zmq.asyncio.Context, ret: str, pub: str, rts: int, deadline: float, budget: list[int]
) -> tuple[int, int]:
    done = failed = 0
    while time.monotonic() < deadline and budget[0] > 0:
        budget[0] -= 1
        dealer = ctx.socket(zmq.DEALER)
        sub = ctx.socket(zmq.SUB) if pub else None
        try:
            dealer.setsockopt(zmq.LINGER, 0)
            dealer.connect(ret)
            if sub is not None:
                sub.setsockopt(zmq.LINGER, 0)
                sub.setsockopt(zmq.SUBSCRIBE, b"")
                sub.connect(pub)
            async with asyncio.timeout(5.0):
                for n in range(rts):
                    await dealer.send(b"a" * (AUTH_BYTES if n == 0 else REQUEST_BYTES))
                    await dealer.recv()
            done += 1
        except TimeoutError:
            failed += 1
        finally:
            dealer.close(0)
            if sub is not None:
                sub.close(0)
    return done, failed


def anchor_clients(
    ret: str, pub: str, count: int, rts: int, seconds: float, go: Any, out: Any
) -> None:
    """``count`` concurrent clients, each looping connect -> round trips -> close."""

    async def run() -> tuple[int, int, float]:
        ctx = zmq.asyncio.Context()
        ctx.set(zmq.MAX_SOCKETS, max(1024, 8 * count + 64))
        out.put("ready")
        go.wait(60)
        began = time.monotonic()
        budget = [int(MAX_RATE * seconds)]
        results = await asyncio.gather(
            *(_anchor_client(ctx, ret, pub, rts, began + seconds, budget) for _ in range(count))
        )
        elapsed = time.monotonic() - began
        ctx.term()
        return sum(r[0] for r in results), sum(r[1] for r in results), elapsed

    out.put(asyncio.run(run()))


def run_anchor(
    name: str, layout: list[tuple[str, int]], rts: int, with_sub: bool, seconds: float
) -> AnchorResult:
    result = AnchorResult(name, rts, with_sub, seconds)
    ctx = mp.get_context("spawn")
    stop, go, addresses, out = ctx.Event(), ctx.Event(), ctx.Queue(), ctx.Queue()
    server = ctx.Process(target=anchor_server, args=(stop, addresses))
    server.start()
    clients: list[Any] = []
    try:
        ret, pub = addresses.get(timeout=30)
        clients = [
            ctx.Process(
                target=anchor_clients,
                args=(ret, pub if with_sub else "", count, rts, seconds, go, out),
            )
            for _, count in layout
        ]
        for proc in clients:
            proc.start()
        for _ in clients:  # every client imported and waits for go: all begin together
            out.get(timeout=60)
        go.set()
        for _ in clients:
            done, failed, elapsed = out.get(timeout=seconds + 60)
            result.cycles += done
            result.failed += failed
            result.elapsed_s = max(result.elapsed_s, elapsed)
    finally:
        stop.set()
        for proc in [*clients, server]:
            proc.join(10)
            if proc.is_alive():
                proc.kill()
                proc.join()
    return result
