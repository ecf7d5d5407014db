"""A minion stops when told, whatever its requests are doing at that moment."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import zmq.asyncio
from saltsim_minion.config import MinionConfig
from saltsim_minion.minion import Minion

pytestmark = pytest.mark.functional


class _Dealer:
    """Takes requests and answers none (the test answers them by hand); ``sent`` is set
    once a request has gone out."""

    def __init__(self) -> None:
        self.sent = asyncio.Event()

    async def send(self, frame: bytes) -> None:
        self.sent.set()


def test_a_cancellation_arriving_with_a_reply_is_not_lost(tmp_path: Any) -> None:
    """SIGTERM cancels the minion's task; when it lands in the same loop turn as a reply
    (a stop right after an _auth answer), the request must end cancelled, not return."""

    async def scenario() -> None:
        ctx = zmq.asyncio.Context()
        minion = Minion(MinionConfig(id="m1", pki_dir=str(tmp_path)), ctx)
        dealer = _Dealer()
        minion._dealer = dealer  # type: ignore[assignment]
        try:
            task = asyncio.create_task(minion._request({"enc": "clear", "load": {}}, 5.0))
            await asyncio.wait_for(dealer.sent.wait(), 5)  # the request is out, awaiting
            (reply,) = minion._replies.values()
            reply.set_result({"ok": True, "act": "full", "rid": 1})
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert not minion._replies
        finally:
            minion._dealer = None
            minion.close()
            ctx.term()

    asyncio.run(scenario())


def test_a_request_without_a_reply_still_times_out(tmp_path: Any) -> None:
    async def scenario() -> None:
        ctx = zmq.asyncio.Context()
        minion = Minion(MinionConfig(id="m1", pki_dir=str(tmp_path)), ctx)
        dealer = _Dealer()
        minion._dealer = dealer  # type: ignore[assignment]
        try:
            with pytest.raises(TimeoutError):
                await minion._request({"enc": "clear", "load": {}}, 0.05)
            assert not minion._replies
        finally:
            minion._dealer = None
            minion.close()
            ctx.term()

    asyncio.run(scenario())
