"""What both remote clients hold: the API settings, the bus PULL address and the intake."""

from __future__ import annotations

import ssl

from saltsim.listener import ListenerCore
from saltsim.remote._stream import ApiSettings, Intake

__all__ = ["RemoteBase"]


class RemoteBase:
    """The constructor the sync and async remote clients share; each sets up its own
    reading in ``_open`` (a thread, or a task started later)."""

    def __init__(
        self,
        url: str,
        *,
        token: str | None = None,
        username: str | None = None,
        password: str | None = None,
        eauth: str = "auto",
        verify: bool | ssl.SSLContext = True,
        token_in_query: bool = False,
        pull_address: str | None = None,
        connect_timeout: float = 10.0,
        hwm: int = 10_000,
        pending_max: int = 10_000,
    ) -> None:
        self.settings = ApiSettings(
            url,
            token,
            username,
            password,
            eauth,
            verify,
            token_in_query,
            connect_timeout,
            probes=pull_address is not None,  # wait_ready's probe must come back
        )
        self.pull_address = pull_address
        self._intake = Intake(pending_max)
        self._hwm = hwm
        self._open()

    def _open(self) -> None:
        raise NotImplementedError

    def _listener_core(self) -> ListenerCore:
        return self._intake.core
