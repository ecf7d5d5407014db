"""A stalled SSE client (opened, then never read) costs only itself: another client
receives every event with no gap in ``_seq``, the stalled one's losses show in
``/stats``, and once it reads again it is told ``saltsim/api/dropped`` exactly where
its gap is.

Plain HTTP and a raw socket with a small receive buffer, so the test controls when
the stalled client reads; events are padded so buffers fill quickly. The firing is
paced by the healthy client (a batch, then wait until it saw the batch's last event),
so only a client that stops reading can fall behind.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from api_support import RawHttp, SseEvent, api_options, base_url, curl_events, http, login

from saltsim.client import EventClient
from saltsim.deadline import Deadline
from saltsim.testbed.local import LocalTestbed

pytestmark = pytest.mark.functional

QUEUE = 50
BATCH = 25
MAX_EVENTS = 4000  # 64 MB: far beyond what the kernel, the transport and the queue hold
PAD = "x" * 16_000


@pytest.fixture(scope="module")
def testbed_options() -> dict[str, Any]:
    return api_options(api_ssl=False, api_client_queue=QUEUE)


def _streams(client: httpx.Client) -> dict[str, Any]:
    streams: dict[str, Any] = client.get("/stats").json()["api"]["streams"]
    return streams


def _client(streams: dict[str, Any], port: int) -> dict[str, Any]:
    found: list[dict[str, Any]] = [c for c in streams["clients"] if c["peer"].endswith(f":{port}")]
    assert len(found) == 1, streams
    return found[0]


def _numbers(events: list[SseEvent]) -> list[int]:
    return [e.body["data"]["n"] for e in events if e.tag.startswith("test/stall/")]


def test_a_stalled_client_loses_events_alone_and_is_told_where(
    module_testbed: LocalTestbed,
) -> None:
    deadline = Deadline(90)
    with (
        http(module_testbed) as client,
        EventClient(module_testbed.bus_pub, module_testbed.bus_pull, listen=False) as firer,
    ):
        token = login(client)
        stalled = RawHttp(module_testbed.ports["api_port"], "/events", token, rcvbuf=4096)
        stalled.reader.until_line("retry: 400", deadline)  # armed; now it stops reading
        stalled_port = stalled.sock.getsockname()[1]
        proc, healthy = curl_events(
            f"{base_url(module_testbed)}/events", "-H", f"X-Auth-Token: {token}"
        )
        try:
            healthy.until_line("retry: 400", deadline)
            seen: list[SseEvent] = []
            fired = 0
            extra_batches = 2  # keep firing a little after the first loss
            while extra_batches:
                for _ in range(BATCH):
                    assert firer.fire_event({"n": fired, "pad": PAD}, f"test/stall/{fired}")
                    fired += 1
                seen += healthy.until_tag(f"test/stall/{fired - 1}", deadline)
                if _client(_streams(client), stalled_port)["dropped"]:
                    extra_batches -= 1
                assert fired < MAX_EVENTS, "the stalled client never lost an event"
            # the stalled client reads again: what it was given, then the notice of its loss
            drained = stalled.reader.until_tag("saltsim/api/dropped", deadline)
            assert firer.fire_event({"n": fired}, "test/stall/end")
            drained += stalled.reader.until_tag("test/stall/end", deadline)
            seen += healthy.until_tag("test/stall/end", deadline)
            streams = _streams(client)
        finally:
            proc.kill()
            proc.wait()
            stalled.close()
    # the healthy client got everything, in order, with no gap in _seq
    assert _numbers(seen) == list(range(fired + 1))  # with the end event
    seqs = [e.body["data"]["_seq"] for e in seen]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
    lost = _client(streams, stalled_port)["dropped"]
    healthy_port = next(c for c in streams["clients"] if c["peer"] != f"127.0.0.1:{stalled_port}")
    assert lost > 0 and healthy_port["dropped"] == 0
    assert streams["dropped"] >= lost
    notices = [e for e in drained if e.tag == "saltsim/api/dropped"]
    assert notices and sum(e.body["data"]["dropped"] for e in notices) == lost
    assert not any(e.tag == "saltsim/api/dropped" for e in seen)
    # each notice sits exactly at its gap: the numbers around it differ by its count + 1
    for index, event in enumerate(drained):
        if event.tag == "saltsim/api/dropped":
            before, after = drained[index - 1], drained[index + 1]
            gap = after.body["data"]["n"] - before.body["data"]["n"] - 1
            assert gap == event.body["data"]["dropped"], (before.tag, after.tag)
    assert len(drained) - len(notices) + lost == len(seen)
