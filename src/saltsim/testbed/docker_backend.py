"""The docker backend: the compose project, driven with the docker SDK.

``start()`` brings up the master from ``docker-compose.yml`` under a project
name and free 127.0.0.1 ports of its own, so runs never collide. Minions are
containers on the project network, one minion each with its own address and
key: ``add_minion(id)`` makes one with that id through the SDK, and
``scale(n)`` scales the compose ``minion`` service, whose replicas name
themselves ``minion-1..n`` from their container names. Faults are the
engine's: stop (SIGTERM), kill (SIGKILL), pause (cgroup freezer), network
disconnect and reconnect, master restart with its volume kept.

Everything carries the ``org.saltsim.session`` label; ``close()`` removes the
session's containers, network and volume, and ``clean()`` every session's.
The controller talks to the engine API and to published ports only, never to
container addresses, so it does not assume the containers are local.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any, Self

import yaml
from docker.errors import APIError

from saltsim.containerid import service_replica_id
from saltsim.curve import CurveClient, load_or_create_keypair, parse_key
from saltsim.deadline import Deadline
from saltsim.errors import TestbedError
from saltsim.masterclient import MasterClient, MasterError
from saltsim.testbed._cloud import CLOUD_LABEL, wait_cloud_health
from saltsim.testbed._containers import ContainerFaults
from saltsim.testbed._engine import SESSION_LABEL, compose_command, compose_file, engine
from saltsim.testbed._proc import child_environment
from saltsim.testbed.base import BusPorts
from saltsim.testbed.local import BUS_HOLD, free_ports

__all__ = ["DockerTestbed", "clean"]

MINION_LABEL = "org.saltsim.minion"
_MASTER_DATA = "/var/lib/saltsim/master"
_PORTS = ("publish_port", "ret_port", "bus_pub_port", "bus_pull_port", "api_port")
_PORT_ENV = {
    "publish_port": "SALTSIM_PUBLISH_PORT",
    "ret_port": "SALTSIM_RET_PORT",
    "bus_pub_port": "SALTSIM_BUS_PUB_PORT",
    "bus_pull_port": "SALTSIM_BUS_PULL_PORT",
    "api_port": "SALTSIM_API_PORT",
}
_MINION_COMMAND = ("python3", "-m", "saltsim_minion", "-l", "info")
CLOUDSIM_IMAGE = "saltsim-cloudsim:latest"  # when ``images`` names none
CLOUD_URL = "http://cloud-sim:8080"  # cloud-sim as the master reaches it on the network
_SWARM_KEYS = "/var/lib/saltsim/swarm-keys"
# Settings the compose file or this backend owns (addresses, paths, the bus's keys).
_FIXED = {
    "interface",
    "pki_dir",
    "cachedir",
    "sock_dir",
    "bus_remote",
    "bus_curve_clients",
    "master",
    "master_port",
    "id",
} | set(_PORTS)


def _env(options: dict[str, Any]) -> dict[str, str]:
    """Options as ``SALTSIM_<OPTION>`` values the config loader parses back (YAML)."""
    fixed = sorted(set(options) & _FIXED)
    if fixed:
        raise TestbedError(f"the docker backend sets {', '.join(fixed)} itself")
    return {
        f"SALTSIM_{key.upper()}": _escape(value if isinstance(value, str) else json.dumps(value))
        for key, value in options.items()
    }


def _escape(value: str) -> str:
    """Compose interpolates ``$`` in the override file; a value means itself (a Z85 key
    may hold ``$``)."""
    return value.replace("$", "$$")


class DockerTestbed(ContainerFaults, BusPorts):
    """A master container and minion containers of one session; a ``Testbed``.

    The master is the compose project's ``master`` service under a project name of its
    own, its ports published on free 127.0.0.1 ports; minions are containers on the
    project's network. Everything it makes carries the session label, so ``close()``
    (and ``make clean ALL=1``) find it again.
    """

    backend = "docker"

    def __init__(
        self,
        *,
        dialect: str = "3008",
        master_options: dict[str, Any] | None = None,
        minion_options: dict[str, Any] | None = None,
        session: str | None = None,
        start_timeout: float = 90.0,
        images: dict[str, str] | None = None,
    ) -> None:
        self.session = session or uuid.uuid4().hex[:10]
        self.project = f"saltsim{self.session}"
        self.dialect = dialect
        self.start_timeout = start_timeout
        *ports, self.cloud_port = free_ports(len(_PORTS) + 1)
        self.ports = dict(zip(_PORTS, ports, strict=True))
        self.master_options = {"dialect": dialect, "bus_hold": BUS_HOLD, **(master_options or {})}
        self.minion_options = {"dialect": dialect, **(minion_options or {})}
        self._images = images
        self._workdir = Path(tempfile.mkdtemp(prefix=f"saltsim-{self.session}-"))  # 0700
        # The bus is CURVE over the published ports: this key pair is the testbed's own
        # tools' (kept 0600 in the private workdir for CLI tools); the master lets in only
        # its public half, and minion containers hold no key at all.
        self.bus_client_key = self._workdir / "bus-client.key"
        self._bus_keys = load_or_create_keypair(self.bus_client_key)
        self.bus_pub = f"tcp://127.0.0.1:{self.ports['bus_pub_port']}"
        self.bus_pull = f"tcp://127.0.0.1:{self.ports['bus_pull_port']}"
        self._docker: Any = None
        self._minions: dict[str, Any] = {}  # handle -> container
        self._cloud_options: dict[str, Any] = {}
        self._cloud_started = False
        self._master_started = False

    # -- lifecycle ------------------------------------------------------------------
    def start(self) -> Self:
        try:
            self._prepare()
            self._write_override()
            self._master_started = True
            self.compose("up", "-d", "--no-deps", "master")
            self._wait_master()
        except BaseException as exc:
            logs = self._safe_logs("master")
            self.close()
            if isinstance(exc, TestbedError | KeyboardInterrupt):
                raise
            raise TestbedError(
                f"docker testbed did not start: {exc}\nmaster logs:\n{logs}"
            ) from exc
        return self

    def configure_master(self, **options: Any) -> None:
        """Settings for the master (``SALTSIM_*`` in its container), which ``start()``
        passes; the addresses, paths and bus keys stay this backend's."""
        if self._master_started:
            raise TestbedError("configure_master() after start(): the master has read its config")
        _env(options)  # refuses what the compose file or this backend sets
        self.master_options.update(options)

    def _prepare(self) -> None:
        """The engine client and the images (once: ``start_cloud`` may come first)."""
        if self._docker is None:
            self._docker = engine()
        if self._images is None:
            from saltsim.testbed.images import ensure_images

            self._images = ensure_images(log=lambda line: None)

    def _write_override(self) -> None:
        override = {
            "version": "3.8",
            "services": {
                "master": {
                    "environment": {
                        **_env(self.master_options),
                        "SALTSIM_BUS_REMOTE": "curve",
                        "SALTSIM_BUS_CURVE_CLIENTS": _escape(
                            json.dumps([self._bus_keys[0].decode()])
                        ),
                    }
                },
                "minion": {"environment": _env(self.minion_options)},
                "swarm": {"environment": _env(self.minion_options)},
                "cloud-sim": {
                    "environment": {
                        f"SALTSIM_CLOUD_{key[len('SALTSIM_') :]}": value
                        for key, value in _env(self._cloud_options).items()
                    }
                },
            },
        }
        (self._workdir / "override.yml").write_text(yaml.safe_dump(override))

    def compose(self, *args: str, timeout: float = 300) -> str:
        """Run compose on this session's project; its output, or an error that includes it."""
        assert self._images is not None
        env = {
            "SALTSIM_SESSION": self.session,
            "SALTSIM_MASTER_IMAGE": self._images["master"],
            "SALTSIM_MINION_IMAGE": self._images["minion"],
            "SALTSIM_CLOUDSIM_IMAGE": self._images.get("cloudsim", CLOUDSIM_IMAGE),
            "SALTSIM_CLOUD_PORT": str(self.cloud_port),
            "SALTSIM_DIALECT": self.dialect,
            **{_PORT_ENV[name]: str(port) for name, port in self.ports.items()},
        }
        argv = [
            *compose_command(),
            "-p",
            self.project,
            "-f",
            str(compose_file()),
            "-f",
            str(self._workdir / "override.yml"),
            *args,
        ]
        done = subprocess.run(
            argv,
            env={**child_environment(), **env},  # the user's SALTSIM_* are not this stack's
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if done.returncode != 0:
            raise TestbedError(f"`{' '.join(argv)}` failed ({done.returncode}):\n{done.stderr}")
        return done.stdout + done.stderr

    def _wait_master(self, timeout: float | None = None) -> None:
        """Ready means the master answers an authenticated ``info`` request through the
        published port. It does not subscribe to the bus: the first subscriber releases
        ``bus_hold``, and that must be the caller's recorder, not this probe. A master
        container that exits meanwhile fails at once, with its logs."""
        limit = timeout or self.start_timeout
        deadline = Deadline(limit)
        while True:
            try:
                with self.client() as client:
                    client.call({"cmd": "info"}, timeout=min(2.0, limit))
                self.bus_curve = self._read_bus_curve()
                return
            except (MasterError, TestbedError, APIError):
                master = self._master()
                master.reload()
                if master.status in ("exited", "dead"):
                    raise TestbedError(
                        f"the master container exited ({master.attrs['State'].get('ExitCode')})"
                        f"; its logs:\n{self.logs('master')}"
                    ) from None
                if deadline.expired:
                    raise TestbedError(
                        f"the master did not answer on 127.0.0.1:{self.ports['ret_port']} "
                        f"within {limit}s; its logs:\n{self.logs('master')}"
                    ) from None
                time.sleep(0.2)  # between probes of a master that is still starting

    def close(self) -> None:
        if self._docker is not None:
            for container in self._labelled("containers", {}):
                if container.labels.get(MINION_LABEL) or container.labels.get(CLOUD_LABEL):
                    container.remove(force=True)
            if self._images is not None:
                # the label sweep below removes whatever a failed `down` leaves
                with contextlib.suppress(TestbedError):
                    self.compose("down", "-v", "--remove-orphans", "--timeout", "5")
            _sweep(self._docker, f"{SESSION_LABEL}={self.session}")
            self._docker.close()
            self._docker = None
        for path in sorted(self._workdir.glob("*")):
            path.unlink()
        self._workdir.rmdir()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- clients --------------------------------------------------------------------
    def _read_bus_curve(self) -> CurveClient:
        """The master's bus public key, read from its container (made at its first start)."""
        code, out = self._master().exec_run(["cat", f"{_MASTER_DATA}/pki/bus.pub"])
        if code != 0:
            raise TestbedError(f"cannot read the master's bus key: {out.decode()}")
        return CurveClient(parse_key(out, "the master's pki/bus.pub"), *self._bus_keys)

    def client(self) -> MasterClient:
        code, out = self._master().exec_run(["cat", f"{_MASTER_DATA}/pki/client_token"])
        if code != 0:
            raise TestbedError(f"cannot read the master's client token: {out.decode()}")
        return MasterClient(
            f"tcp://127.0.0.1:{self.ports['ret_port']}",
            out.decode().strip(),
            bus_pub=self.bus_pub,
            bus_pull=self.bus_pull,
            bus_curve=self.bus_curve,
        )

    # -- containers -----------------------------------------------------------------
    def _labelled(self, kind: str, extra: dict[str, str]) -> list[Any]:
        labels = [f"{SESSION_LABEL}={self.session}", *(f"{k}={v}" for k, v in extra.items())]
        found: list[Any] = getattr(self._docker, kind).list(
            **({"all": True} if kind == "containers" else {}), filters={"label": labels}
        )
        return found

    def _master(self) -> Any:
        found = self._labelled("containers", {"com.docker.compose.service": "master"})
        if not found:
            raise TestbedError(f"no master container in session {self.session}")
        return found[0]

    def _network(self) -> Any:
        found = self._labelled("networks", {})
        if not found:
            raise TestbedError(f"no network in session {self.session}")
        return found[0]

    def _container(self, handle: str) -> Any:
        if handle == "master":
            return self._master()
        if handle == "cloud-sim":
            return self._cloud_container()
        if handle not in self._minions:
            self._discover()
        try:
            return self._minions[handle]
        except KeyError:
            raise TestbedError(f"no minion {handle!r} in session {self.session}") from None

    def _discover(self) -> None:
        """Pick up the compose-scaled replicas (``minion-3``) by their labels."""
        for container in self._labelled("containers", {}):
            service = container.labels.get("com.docker.compose.service")
            number = container.labels.get("com.docker.compose.container-number")
            if service in ("minion", "swarm") and number:
                self._minions.setdefault(service_replica_id(service, number), container)

    def minions(self) -> list[str]:
        self._discover()
        return sorted(self._minions)

    def add_minion(
        self, minion_id: str, start: bool = True, *, name: str | None = None, **options: Any
    ) -> None:
        """A minion container named after the session; ``name`` is its handle (default:
        the id), so two containers may claim one id (a denied key)."""
        assert self._images is not None
        handle = name or minion_id
        if handle in self._minions:
            raise TestbedError(f"minion {handle} already exists")
        env = {
            "SALTSIM_MASTER": "master",
            "SALTSIM_PKI_DIR": "/var/lib/saltsim/minion/pki",
            "SALTSIM_ID": minion_id,
            **_env({**self.minion_options, **options}),
        }
        self._minions[handle] = self._docker.containers.create(
            self._images["minion"],
            list(_MINION_COMMAND),
            name=f"{self.project}-{handle}",
            hostname=handle,
            environment=env,
            labels={SESSION_LABEL: self.session, MINION_LABEL: handle},
            network=self._network().name,
            healthcheck={
                "test": ["CMD", "python3", "-m", "saltsim.health", "minion"],
                "interval": 5_000_000_000,
                "timeout": 3_000_000_000,
                "retries": 12,
            },
        )
        if start:
            self.start_minion(handle)

    def add_swarm(
        self, prefix: str, count: int, keys_dir: str | None = None, **options: Any
    ) -> None:
        """``count`` minions ``prefix-1..N`` in one container. ``keys_dir``, a folder on
        the engine's host, is mounted as the key cache so keys made once are reused
        (benchmarks; it assumes the engine runs on this host). The container then runs as
        this user: the keys are 0600 files of ours, and a minion refuses a private key
        owned by anyone else (root included)."""
        assert self._images is not None
        handle = f"swarm-{prefix}"
        mounts = {keys_dir: {"bind": _SWARM_KEYS, "mode": "rw"}} if keys_dir else {}
        self._minions[handle] = self._docker.containers.run(
            self._images["minion"],
            [
                *_MINION_COMMAND,
                "--swarm",
                str(count),
                "--prefix",
                prefix,
                "--keys-dir",
                _SWARM_KEYS,
            ],
            detach=True,
            name=f"{self.project}-{handle}",
            hostname=handle,
            environment={"SALTSIM_MASTER": "master", **_env({**self.minion_options, **options})},
            labels={SESSION_LABEL: self.session, MINION_LABEL: handle},
            network=self._network().name,
            volumes=mounts,
            user=f"{os.getuid()}:{os.getgid()}" if keys_dir else None,
        )

    def scale(self, service: str, replicas: int) -> list[str]:
        """Scale the compose ``minion`` or ``swarm`` service; the replicas' handles."""
        if service not in ("minion", "swarm"):
            raise TestbedError(f"only minion and swarm scale, not {service!r}")
        self.compose(
            "up", "-d", "--no-deps", "--no-recreate", "--scale", f"{service}={replicas}", service
        )
        self._minions = {k: v for k, v in self._minions.items() if not k.startswith(f"{service}-")}
        self._discover()
        return sorted(k for k in self._minions if k.startswith(f"{service}-"))

    def remove_minion(self, minion_id: str) -> None:
        self._container(minion_id).remove(force=True)
        del self._minions[minion_id]

    def _minion_network(self) -> Any:
        return self._network()

    def memory_bytes(self, handle: str) -> int:
        """The container's memory use as the engine reports it (cgroup usage less cache)."""
        stats = self._container(handle).stats(stream=False)["memory_stats"]
        cache = stats.get("stats", {}).get(
            "total_inactive_file", stats.get("stats", {}).get("cache", 0)
        )
        return int(stats.get("usage", 0)) - int(cache)

    # -- cloud provider -------------------------------------------------------------
    def start_cloud(self, **options: Any) -> str:
        """Start the compose ``cloud-sim`` service (``saltsim_cloudsim`` options:
        ``provision_delay``, ...): its instances' minions are containers on the testbed
        network. Returns its URL as the master reaches it; ``cloud_url_host`` is the
        published port on 127.0.0.1. May come before ``start()`` (the master's config can
        then name the provider)."""
        owned = sorted(set(options) & {"host", "port", "backend", "network", "session"})
        if owned:
            raise TestbedError(f"the docker backend sets cloud-sim's {', '.join(owned)} itself")
        self._prepare()
        self._cloud_options = dict(options)
        self._write_override()
        self.compose("up", "-d", "--no-deps", "cloud-sim")
        self._cloud_started = True

        def gone() -> str | None:
            container = self._cloud_container()
            container.reload()
            if container.status not in ("exited", "dead"):
                return None
            return f"its container exited; its logs:\n{self.logs('cloud-sim')}"

        wait_cloud_health(self.cloud_url_host, self.start_timeout, gone)
        return CLOUD_URL

    @property
    def cloud_url_host(self) -> str:
        """cloud-sim's URL as the host reaches it (the published port)."""
        if not self._cloud_started:
            raise TestbedError("no cloud-sim in this testbed; start_cloud() it first")
        return f"http://127.0.0.1:{self.cloud_port}"

    def _cloud_container(self) -> Any:
        found = self._labelled("containers", {"com.docker.compose.service": "cloud-sim"})
        if not found:
            raise TestbedError(f"no cloud-sim container in session {self.session}")
        return found[0]

    # -- master ---------------------------------------------------------------------
    def restart_master(self) -> None:
        """Restart the master container (its volume, hence keys and jobs, kept); returns
        once the new bus answers through the published port."""
        self._master().restart(timeout=10)
        self._wait_master()

    def logs(self, name: str) -> str:
        text: bytes = self._container(name).logs(tail=200)
        return text.decode(errors="replace")

    def _safe_logs(self, name: str) -> str:
        try:
            return self.logs(name)
        except Exception as exc:  # logs are best effort on a failed start
            return f"(no logs: {exc})"


def _sweep(client: Any, label: str) -> dict[str, int]:
    """Remove containers, then networks and volumes, carrying ``label``."""
    removed = {"containers": 0, "networks": 0, "volumes": 0}
    for container in client.containers.list(all=True, filters={"label": label}):
        container.remove(force=True)
        removed["containers"] += 1
    for network in client.networks.list(filters={"label": label}):
        network.remove()
        removed["networks"] += 1
    for volume in client.volumes.list(filters={"label": label}):
        volume.remove(force=True)
        removed["volumes"] += 1
    return removed


def clean() -> dict[str, int]:
    """Remove every saltsim session's containers, networks and volumes (``make clean ALL=1``)."""
    client = engine()
    try:
        return _sweep(client, SESSION_LABEL)
    finally:
        client.close()
