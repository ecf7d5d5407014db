"""A request that raised: counted beside the edge's refusals, logged with a rate limit.

Salt's request server catches every exception per request and answers with an error;
so does this one. The count goes into the ``RequestEdge`` counters under
``internal error (<ExceptionType>)`` (``/stats`` and the ``stopped`` log line show it);
the traceback is logged the first time a reason is seen and then at most once a minute
for it, so a flood of one bad request cannot fill the disk with logs.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from saltsim_master.reqserver import RequestEdge

__all__ = ["Failures"]

log = logging.getLogger("saltsim_master.master")

_LOG_INTERVAL = 60.0
_MESSAGE_CHARS = 200  # an exception's text may quote the request: keep the answer short


class Failures:
    """Requests that raised: counted by exception type, logged with a rate limit."""

    def __init__(self, edge: RequestEdge, log_interval: float = _LOG_INTERVAL) -> None:
        self.edge = edge
        self.log_interval = log_interval
        self._logged_at: dict[str, float] = {}

    def record(self, where: str, exc: BaseException) -> dict[str, Any]:
        """Count and maybe log ``exc``, raised serving a ``where`` request; the answer."""
        reason = f"internal error ({type(exc).__name__})"
        self.edge.refused[reason] += 1
        now = time.monotonic()
        last = self._logged_at.get(reason)
        if last is None or now - last >= self.log_interval:
            self._logged_at[reason] = now
            log.error(
                "a %s request raised (%d so far for this reason; logged at most once a "
                "minute); it was answered with an error and the master goes on",
                where,
                self.edge.refused[reason],
                exc_info=exc,
            )
        text = str(exc)[:_MESSAGE_CHARS]
        return {"ok": False, "error": f"the master could not serve this request: {reason}: {text}"}
