"""The ``salt`` backend: a real salt-master and real salt-minion containers.

The same interface as the local and docker backends, so the scenario runner, the
recorder, the checker, the JSONL records and the timeline run unchanged against real
Salt. One container per minion, each with its own address on the session's network
(real Salt decides presence by the peer address of each publish connection). An
impostor is one more container claiming an existing id with a key of its own.

The master's container runs ``python -m saltsim_saltbridge``: salt-master, and a bridge
that reads Salt's IPC bus with Salt's event API and forwards every event as a saltsim
frame (``_seq`` numbered as it reads) on a ZeroMQ PUB, and fires host frames onto Salt's
bus from a PULL. Both are published on 127.0.0.1 only and are CURVE servers that let in
one client key, made by this testbed for its own tools (``bus_curve``; ``bus_tool_env()``
for a CLI tool), as the docker backend's bus does. The testbed is ready when a probe
fired by the host came back through Salt's bus.

Containers, the network and the master's volume carry the session label: ``close()``
removes the session's, ``make clean ALL=1`` every session's.
"""

from __future__ import annotations

import io
import shutil
import tarfile
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, Self

import zmq

from saltsim.curve import CurveClient, load_or_create_keypair
from saltsim.deadline import Deadline
from saltsim.errors import EventTimeoutError, NotSupportedError, TestbedError
from saltsim.testbed._containers import ContainerFaults
from saltsim.testbed._engine import SESSION_LABEL, engine
from saltsim.testbed.base import BusPorts
from saltsim.testbed.docker_backend import _sweep
from saltsim.testbed.local import free_ports
from saltsim.testbed.salt_client import SaltCli
from saltsim.testbed.salt_config import master_config, minion_config

__all__ = ["SaltTestbed"]

MINION_LABEL = "org.saltsim.minion"
ROLE_LABEL = "org.saltsim.salt"  # master | minion
_PKI = "/etc/salt/pki/master"
_BRIDGE_CURVE = "/etc/saltsim/bridge.curve"
_MASTER_CMD = ["python3", "-m", "saltsim_saltbridge", "--curve", _BRIDGE_CURVE]
_MINION_CMD = ["salt-minion", "-l", "info"]


def _archive(path: str, text: str, mode: int = 0o644) -> bytes:
    """A tar holding one file, for ``put_archive`` into a created container."""
    data = text.encode()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo(path.lstrip("/"))
        info.size, info.mtime, info.mode = len(data), int(time.time()), mode
        tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


class SaltTestbed(ContainerFaults, BusPorts):
    """A real salt-master and salt-minion containers of one session; a ``Testbed``.

    Its ``client()`` is Salt's own command lines (``SaltCli``); options that only
    saltsim's master or minion knows are said once and ignored; swarms and cloud-sim
    raise ``NotSupportedError``.
    """

    backend = "salt"

    def __init__(
        self,
        *,
        dialect: str = "3008",
        master_options: dict[str, Any] | None = None,
        minion_options: dict[str, Any] | None = None,
        session: str | None = None,
        start_timeout: float = 90.0,
        image: str | None = None,
        say: Callable[[str], None] = print,
    ) -> None:
        self.session = session or uuid.uuid4().hex[:10]
        self.project = f"saltsim{self.session}"
        self.dialect = dialect
        self.start_timeout = start_timeout
        self.master_options = dict(master_options or {})
        self.minion_options = dict(minion_options or {})
        pub, pull = free_ports(2)
        self.ports = {"bus_pub_port": pub, "bus_pull_port": pull}
        self.bus_pub = f"tcp://127.0.0.1:{pub}"
        self.bus_pull = f"tcp://127.0.0.1:{pull}"
        # The bridge's key pair and this testbed's client key (kept 0600 in a private
        # folder for CLI tools, as the docker backend keeps its own).
        self._keydir = Path(tempfile.mkdtemp(prefix=f"saltsim-{self.session}-"))
        self.bus_client_key = self._keydir / "bus-client.key"
        client_public, client_secret = load_or_create_keypair(self.bus_client_key)
        self._bridge_public, self._bridge_secret = zmq.curve_keypair()
        self._client_public = client_public
        self.bus_curve = CurveClient(self._bridge_public, client_public, client_secret)
        self.image = image
        self.say = say
        self._docker: Any = None
        self._master_container: Any = None
        self._network: Any = None
        self._minions: dict[str, Any] = {}  # handle -> container
        self._told: set[str] = set()

    # -- lifecycle ------------------------------------------------------------------
    def start(self) -> Self:
        try:
            self._docker = engine()
            if self.image is None:
                from saltsim.testbed.salt_image import SALT_VERSIONS, ensure_salt_image

                self.image = ensure_salt_image(SALT_VERSIONS[self.dialect], log=lambda _l: None)
            labels = {SESSION_LABEL: self.session}
            self._network = self._docker.networks.create(f"{self.project}-net", labels=labels)
            volume = self._docker.volumes.create(f"{self.project}-pki", labels=labels)
            config, ignored = master_config(self.master_options)
            self._tell(ignored, "master")
            self._master_container = self._docker.containers.create(
                self.image,
                _MASTER_CMD,
                name=f"{self.project}-master",
                hostname="master",
                labels={**labels, ROLE_LABEL: "master"},
                network=self._network.name,
                ports={
                    "4512/tcp": ("127.0.0.1", self.ports["bus_pub_port"]),
                    "4513/tcp": ("127.0.0.1", self.ports["bus_pull_port"]),
                },
                volumes={volume.name: {"bind": _PKI, "mode": "rw"}},
            )
            self._master_container.put_archive(
                "/", _archive("/etc/salt/master.d/saltsim.conf", config)
            )
            keys = b"\n".join([self._bridge_public, self._bridge_secret, self._client_public])
            self._master_container.put_archive(
                "/", _archive(_BRIDGE_CURVE, keys.decode() + "\n", mode=0o600)
            )
            self._master_container.start()
            self._wait_bridge()
        except BaseException as exc:
            logs = self._safe_logs("master")
            self.close()
            if isinstance(exc, TestbedError | KeyboardInterrupt):
                raise
            raise TestbedError(f"salt testbed did not start: {exc}\nmaster logs:\n{logs}") from exc
        return self

    def configure_master(self, **options: Any) -> None:
        """Settings for salt-master's config (``master.d/saltsim.conf``), which ``start()``
        writes; saltsim-only ones are said once and ignored there."""
        if self._master_container is not None:
            raise TestbedError("configure_master() after start(): the master has read its config")
        self.master_options.update(options)

    def _tell(self, ignored: list[str], what: str) -> None:
        """One line per saltsim-only option, once per testbed."""
        fresh = [key for key in ignored if f"{what}:{key}" not in self._told]
        if fresh:
            self._told.update(f"{what}:{key}" for key in fresh)
            self.say(f"salt backend: {what} options {', '.join(fresh)} are saltsim's; ignored")

    def _wait_bridge(self) -> None:
        """Ready: a probe fired from the host went through Salt's own bus and came back
        (``listener()`` fires it onto the bridge's PULL, the bridge onto Salt's bus)."""
        deadline = Deadline(self.start_timeout)
        while True:
            try:
                self.listener(timeout=min(5.0, self.start_timeout)).close()
                return
            except EventTimeoutError:
                container = self._master_container
                container.reload()
                if container.status in ("exited", "dead"):
                    raise TestbedError(
                        f"the salt-master container exited "
                        f"({container.attrs['State'].get('ExitCode')}); its logs:\n"
                        f"{self.logs('master')}"
                    ) from None
                if deadline.expired:
                    raise TestbedError(
                        f"no probe came back through Salt's bus within {self.start_timeout}s; "
                        f"the master's logs:\n{self.logs('master')}"
                    ) from None

    def close(self) -> None:
        shutil.rmtree(self._keydir, ignore_errors=True)
        if self._docker is None:
            return
        _sweep(self._docker, f"{SESSION_LABEL}={self.session}")
        self._docker.close()
        self._docker = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- clients --------------------------------------------------------------------
    def client(self) -> SaltCli:
        """salt-key, salt and salt-run in the master's container."""
        return SaltCli(self._master())

    def _master(self) -> Any:
        if self._master_container is None:
            raise TestbedError("the salt testbed is not started")
        return self._master_container

    # -- minions --------------------------------------------------------------------
    def add_minion(
        self, minion_id: str, start: bool = True, *, name: str | None = None, **options: Any
    ) -> None:
        """A salt-minion container; ``name`` is its handle (default: the id), so two
        containers may claim one id, each with its own key (an impostor)."""
        handle = name or minion_id
        if handle in self._minions:
            raise TestbedError(f"minion {handle} already exists")
        config, ignored = minion_config(
            minion_id, self._master().name, {**self.minion_options, **options}
        )
        self._tell(ignored, "minion")
        container = self._docker.containers.create(
            self.image,
            _MINION_CMD,
            name=f"{self.project}-{handle}",
            hostname=handle,
            labels={SESSION_LABEL: self.session, MINION_LABEL: handle, ROLE_LABEL: "minion"},
            network=self._network.name,
        )
        container.put_archive("/", _archive("/etc/salt/minion.d/saltsim.conf", config))
        self._minions[handle] = container
        if start:
            self.start_minion(handle)

    def add_swarm(self, prefix: str, count: int, **options: Any) -> None:
        raise NotSupportedError(
            "the salt backend runs one real salt-minion per container; swarms are saltsim's "
            "(docker or local backend)"
        )

    def _container(self, handle: str) -> Any:
        if handle == "master":
            return self._master()
        try:
            return self._minions[handle]
        except KeyError:
            raise TestbedError(f"no minion {handle!r} in session {self.session}") from None

    def minions(self) -> list[str]:
        return sorted(self._minions)

    def _minion_network(self) -> Any:
        return self._network

    # -- master ---------------------------------------------------------------------
    def restart_master(self) -> None:
        """Restart the master's container (its pki volume and its cache kept: a container
        restart keeps its file system); returns once a probe crosses the new bridge."""
        self._master().restart(timeout=10)
        self._wait_bridge()

    def logs(self, name: str) -> str:
        text: bytes = self._container(name).logs(tail=200)
        return text.decode(errors="replace")

    def _safe_logs(self, name: str) -> str:
        try:
            return self.logs(name)
        except Exception as exc:  # logs are best effort on a failed start
            return f"(no logs: {exc})"

    # -- cloud ----------------------------------------------------------------------
    def start_cloud(self, **options: Any) -> str:
        raise NotSupportedError(
            "the salt backend has no cloud: real salt-cloud has no driver for cloud-sim yet"
        )

    @property
    def cloud_url_host(self) -> str:
        raise NotSupportedError("the salt backend has no cloud-sim")
