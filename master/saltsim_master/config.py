"""The master's settings: one YAML file, ``SALTSIM_*`` environment, explicit arguments."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from saltsim.errors import ConfigError
from saltsim.private import default_base
from saltsim.stamp import DIALECTS
from saltsim_master.cloudconfig import parse_profiles, parse_providers

__all__ = ["MasterConfig"]


@dataclasses.dataclass(frozen=True)
class MasterConfig:
    """Defaults follow Salt's where Salt has the option; times are seconds."""

    interface: str = "127.0.0.1"  # Salt binds 0.0.0.0; saltsim keeps to loopback unless told
    publish_port: int = 4505  # PUB: encrypted job loads
    ret_port: int = 4506  # ROUTER: _auth, _return, _minion_event, heartbeats, clients
    # Private state, each a 0700 directory of this user (checked at start; see
    # saltsim.private). Empty: under the per-user base, $XDG_RUNTIME_DIR/saltsim or
    # /tmp/saltsim-<uid>; sock_dir (the bus's ipc:// sockets, as Salt's) beside pki_dir.
    pki_dir: str = ""
    cachedir: str = ""
    sock_dir: str = ""
    # The bus is ipc:// in sock_dir: only this user reaches it. bus_remote also binds it on
    # interface:bus_pull_port/bus_pub_port, for tools on another host (the compose stack's):
    # "curve" lets in only the CURVE public keys in bus_curve_clients (the server key pair is
    # bus.key/bus.pub in pki_dir); "plain" lets in anyone who reaches the ports (logged).
    bus_remote: str = "off"
    bus_curve_clients: list[str] = dataclasses.field(default_factory=list)
    bus_pub_port: int = 4512  # event bus PUB (listeners), with bus_remote
    bus_pull_port: int = 4513  # event bus PULL (firers), with bus_remote
    dialect: str = "3008"  # "3008" or "3006": every payload difference of docs/EVENTS.md
    auto_accept: bool = False
    open_mode: bool = False  # accept every key, even one that differs from the stored key
    max_minions: int = 0  # 0: no limit
    presence_events: bool = False  # Salt's default; scenarios turn it on
    loop_interval: float = 60.0  # maintenance and presence tick
    heartbeat_timeout: float = 10.0  # a minion silent this long is not connected
    max_load_size: int = 1_048_576  # larger requests are refused (and counted)
    job_timeout: float = 5.0  # Salt's -t default for the CLI's wait for returns
    # How long the job cache keeps a job, as Salt: keep_jobs (hours, deprecated) and
    # keep_jobs_seconds (wins when set away from its default). 0 keeps jobs for ever.
    keep_jobs: int = 24
    keep_jobs_seconds: int = 86400

    @property
    def keep_jobs_for(self) -> float:
        """Seconds a job stays in the cache (0: for ever), resolved as Salt's config does."""
        if self.keep_jobs_seconds != 86400:
            return float(self.keep_jobs_seconds)
        return float(self.keep_jobs * 3600)

    bus_hwm: int = 10_000
    # saltsim only: a new bus holds its events (queued) until a first listener subscribes,
    # at most this long, so a recorder rejoining a restarted master misses nothing. 0: off.
    bus_hold: float = 0.0
    # saltsim only: refuse a minion's single-tag event (event.send) under a tag of Salt's
    # MINION_EVENT_BLACKLIST. Off, as Salt 3008: only the batched form is filtered, so a
    # minion can put e.g. salt/key on the bus (docs/EVENTS.md "Minion events").
    refuse_reserved_minion_tags: bool = False
    # The REST API (salt-api's rest_cherrypy): HTTPS with a self-signed certificate made at
    # the first start in pki_dir (api.crt, api.key) and reused; plain HTTP only when api_ssl
    # is off, because logins and tokens travel in it.
    api_enabled: bool = True
    api_port: int = 8000  # salt-api's usual port
    api_ssl: bool = True
    # user -> password, checked whatever the eauth name (pam, ldap, auto, ...: a test double
    # of those backends). Empty (the default) means nobody can log in, so an API that nobody
    # configured cannot run jobs; the compose stack sets salt/salt (loopback only).
    api_users: dict[str, str] = dataclasses.field(default_factory=dict)
    api_token_expire: float = 43200.0  # Salt's token_expire: 12 hours
    # ?token= on /events and /ws (old salt-api; EventSource cannot send headers). Off: tokens
    # in URLs end up in access logs and browser history (the compose stack turns it on).
    api_allow_query_token: bool = False
    # Events queued per SSE/WebSocket client; past that a slow client loses events (counted,
    # then told with saltsim/api/dropped), so it never holds up the bus or other clients.
    api_client_queue: int = 1000
    # Hostile clients (see api/connections.py and api/bodies.py). Bodies: at most
    # api_max_body bytes (salt-api's max_request_body_size), api_max_fields form fields or
    # JSON/YAML values, nested api_max_depth deep, read within api_body_timeout. Connections:
    # at most api_max_connections open (more are closed at once); a connection must finish
    # its TLS handshake, then send a request's headers, each within api_header_timeout, and
    # is closed after api_idle_timeout without a request in progress.
    api_max_body: int = 1_048_576
    api_max_fields: int = 10_000
    api_max_depth: int = 64
    api_body_timeout: float = 30.0
    api_max_connections: int = 256
    api_header_timeout: float = 10.0
    api_idle_timeout: float = 30.0
    # The cloud runner (salt-cloud): providers and profiles, see cloudconfig.py for the keys.
    cloud_providers: dict[str, Any] = dataclasses.field(default_factory=dict)
    cloud_profiles: dict[str, Any] = dataclasses.field(default_factory=dict)
    # How long a new instance may take to be running (salt-cloud's wait_for_ip_timeout),
    # and how long a destroyed one may take to be terminated before its key is deleted.
    cloud_timeout: float = 120.0
    cloud_poll_interval: float = 0.2  # between queries of an instance's state

    def __post_init__(self) -> None:
        base = default_base() / "master"
        pki = self.pki_dir or str(base / "pki")
        object.__setattr__(self, "pki_dir", pki)
        object.__setattr__(self, "cachedir", self.cachedir or str(base / "cache"))
        object.__setattr__(self, "sock_dir", self.sock_dir or str(Path(pki).parent / "sock"))
        if self.bus_remote not in ("off", "curve", "plain"):
            raise ConfigError(f"bus_remote must be off, curve or plain, not {self.bus_remote!r}")
        if self.dialect not in DIALECTS:
            raise ConfigError(f"dialect must be one of {', '.join(DIALECTS)}, not {self.dialect!r}")
        if self.loop_interval <= 0 or self.heartbeat_timeout <= 0:
            raise ConfigError("loop_interval and heartbeat_timeout must be positive")
        if self.max_minions < 0:
            raise ConfigError("max_minions must be 0 (no limit) or positive")
        users = self.api_users
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in users.items()):
            raise ConfigError("api_users must map user names to passwords (both strings)")
        if self.api_token_expire <= 0 or self.api_client_queue < 2:
            raise ConfigError("api_token_expire must be positive and api_client_queue at least 2")
        api_limits = (self.api_max_body, self.api_max_fields, self.api_max_depth)
        api_times = (self.api_body_timeout, self.api_header_timeout, self.api_idle_timeout)
        if min(api_limits) < 1 or self.api_max_connections < 1 or min(api_times) <= 0:
            raise ConfigError("the api_max_* limits and api_*_timeout settings must be positive")
        if self.cloud_timeout <= 0 or self.cloud_poll_interval <= 0:
            raise ConfigError("cloud_timeout and cloud_poll_interval must be positive")
        parse_profiles(self.cloud_profiles, parse_providers(self.cloud_providers))

    def address(self, port: int) -> str:
        return f"tcp://{self.interface}:{port}"
