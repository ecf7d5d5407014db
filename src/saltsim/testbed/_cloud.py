"""Waiting for a cloud-sim provider to answer, for both testbed backends."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx

from saltsim.deadline import Deadline
from saltsim.errors import TestbedError

__all__ = ["CLOUD_LABEL", "wait_cloud_health"]

CLOUD_LABEL = "org.saltsim.cloud"  # on every instance's minion container: its instance id
_PROBE = 0.1  # between probes of a provider that is still starting


def wait_cloud_health(
    url: str, timeout: float, gone: Callable[[], str | None] = lambda: None
) -> dict[str, object]:
    """``GET <url>/v1/health`` until it answers ``ok`` (one deadline); its answer.
    ``gone()`` returns why the provider cannot come up any more (exited, with its log),
    which fails the wait at once."""
    deadline = Deadline(timeout)
    last = "no answer yet"
    while True:
        try:
            reply = httpx.get(f"{url}/v1/health", timeout=min(2.0, timeout))
            answer = reply.json()
            if reply.status_code == 200 and isinstance(answer, dict) and answer.get("ok"):
                return answer
            last = f"{reply.status_code} {reply.text[:200]}"
        except (httpx.HTTPError, ValueError) as exc:
            last = str(exc) or type(exc).__name__
        reason = gone()
        if reason is not None:
            raise TestbedError(f"cloud-sim did not come up: {reason}")
        if deadline.expired:
            raise TestbedError(
                f"cloud-sim did not answer {url}/v1/health within {timeout}s ({last})"
            )
        time.sleep(min(_PROBE, deadline.remaining()))
