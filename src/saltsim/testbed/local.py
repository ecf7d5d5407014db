"""The local backend: master and minions as processes on 127.0.0.1 with free ports.

The master's bus is ipc:// in a 0700 directory of this testbed; with
``master_options={"bus_remote": "curve"}`` it is also TCP with CURVE, and the testbed
makes a client key pair for its own tools (``bus_curve``), as the docker backend does.

For machines without a Docker engine and for fast tests. Faults map to signals:
stop is SIGTERM, kill SIGKILL, pause SIGSTOP, unpause SIGCONT. Network
disconnect has no process equivalent here and says so.
"""

from __future__ import annotations

import dataclasses
import shutil
import signal
import socket
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Self

import yaml

from saltsim.config import bus_ipc_addresses
from saltsim.curve import CurveClient, load_or_create_keypair, parse_key
from saltsim.errors import NotSupportedError, TestbedError
from saltsim.masterclient import MasterClient, read_token
from saltsim.testbed._cloud import wait_cloud_health
from saltsim.testbed._proc import Child
from saltsim.testbed.base import BusPorts

__all__ = ["BUS_HOLD", "LocalTestbed", "free_ports"]

# A (re)started master's bus waits this long at most for a first listener, so a recorder
# that rejoins after a master restart sees the new bus from its first event.
BUS_HOLD = 10.0


def free_ports(count: int) -> list[int]:
    """Distinct free TCP ports on 127.0.0.1 (held open together so none repeats)."""
    socks = []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            socks.append(sock)
        return [s.getsockname()[1] for s in socks]
    finally:
        for sock in socks:
            sock.close()


@dataclasses.dataclass
class _MinionSpec:
    argv: list[str]
    child: Child | None = None


# Master settings that the constructor turns into addresses and keys: configure_master
# cannot change them any more.
_FIXED_AT_CONSTRUCTION = {"bus_remote", "bus_curve_clients", "sock_dir"}


class LocalTestbed(BusPorts):
    """A master and any number of minion processes on 127.0.0.1; a ``Testbed``.

    Each testbed has its own free ports, work directory (configs, keys, logs under
    ``logs/``) and private ipc:// directory, so any number run side by side. Minions are
    ``saltsim_minion`` processes (one per id, or a swarm of many ids in one); faults are
    signals.
    """

    backend = "local"

    def __init__(
        self,
        workdir: str | Path | None = None,
        *,
        dialect: str = "3008",
        master_options: dict[str, Any] | None = None,
        minion_options: dict[str, Any] | None = None,
        start_timeout: float = 30.0,
        master_command: Sequence[str] = (),
    ) -> None:
        """``master_command``: the master's argv before ``-c CONFIG`` (default
        ``python -m saltsim_master``); the churn fuzzer's broken masters use it."""
        self.master_command = list(master_command) or [sys.executable, "-m", "saltsim_master"]
        self._own_workdir = workdir is None
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="saltsim-local-"))
        self.dialect = dialect
        self.start_timeout = start_timeout
        names = ("publish_port", "ret_port", "bus_pub_port", "bus_pull_port", "api_port")
        self.ports = dict(zip(names, free_ports(len(names)), strict=True))
        # The bus's ipc:// sockets: a short 0700 directory of its own (a socket path must
        # stay under 108 bytes, which a workdir under pytest's tmp_path may not).
        self._sock_dir = tempfile.mkdtemp(prefix="saltsim-sock-")
        self.master_options: dict[str, Any] = {
            "interface": "127.0.0.1",
            "dialect": dialect,
            "pki_dir": str(self.workdir / "master" / "pki"),
            "cachedir": str(self.workdir / "master" / "cache"),
            "sock_dir": self._sock_dir,
            "bus_hold": BUS_HOLD,
            **self.ports,
            **(master_options or {}),
        }
        self._bus_keys: tuple[bytes, bytes] | None = None
        self.bus_client_key = self.workdir / "bus-client.key"
        remote = self.master_options.get("bus_remote", "off")
        if remote == "curve":
            # the testbed's own tools' key pair (0600); the master lets in its public half
            self._bus_keys = load_or_create_keypair(self.bus_client_key)
            clients = list(self.master_options.get("bus_curve_clients", []))
            self.master_options["bus_curve_clients"] = [*clients, self._bus_keys[0].decode()]
        if remote in ("curve", "plain"):
            self.bus_pub = f"tcp://127.0.0.1:{self.ports['bus_pub_port']}"
            self.bus_pull = f"tcp://127.0.0.1:{self.ports['bus_pull_port']}"
        else:
            self.bus_pull, self.bus_pub = bus_ipc_addresses(self.master_options["sock_dir"])
        self.minion_options: dict[str, Any] = {"dialect": dialect, **(minion_options or {})}
        self.master_config = self.workdir / "master.yaml"
        self._master: Child | None = None
        self._minions: dict[str, _MinionSpec] = {}
        self._cloud: Child | None = None
        self._cloud_url: str | None = None

    # -- lifecycle ------------------------------------------------------------------
    def start(self) -> Self:
        try:
            self.master_config.write_text(yaml.safe_dump(self.master_options))
            self._start_master()
        except BaseException:
            self.close()
            raise
        return self

    def configure_master(self, **options: Any) -> None:
        """Settings for the master's config file, which ``start()`` writes."""
        if self._master is not None:
            raise TestbedError("configure_master() after start(): the master has read its config")
        fixed = sorted(set(options) & (_FIXED_AT_CONSTRUCTION | set(self.ports)))
        if fixed:
            raise TestbedError(
                f"{', '.join(fixed)}: decided when the testbed was made; pass "
                "LocalTestbed(master_options=...)"
            )
        self.master_options.update(options)

    def _start_master(self) -> None:
        child = Child(
            "master",
            [*self.master_command, "-c", str(self.master_config), "-l", "info"],
            self.workdir / "logs" / "master.log",
        )
        child.start(pump=False)
        self._master = child
        child.wait_line("ready", self.start_timeout)
        if self._bus_keys is not None:
            server = Path(self.master_options["pki_dir"]) / "bus.pub"
            self.bus_curve = CurveClient(
                parse_key(server.read_bytes(), str(server)), *self._bus_keys
            )

    def close(self) -> None:
        if self._cloud is not None:  # it stops its instances' minions (SIGTERM, then kill)
            self._cloud.stop(30)
        for spec in self._minions.values():
            if spec.child is not None:
                spec.child.stop(5)
        if self._master is not None:
            self._master.stop(10)
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)
        shutil.rmtree(self._sock_dir, ignore_errors=True)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- clients --------------------------------------------------------------------
    def bus_tool_env(self) -> dict[str, str]:
        """Environment for a ``saltsim`` CLI tool on this host to reach the bus."""
        if self.bus_curve is None:
            return {"SALTSIM_SOCK_DIR": str(self.master_options["sock_dir"])}
        return super().bus_tool_env()

    def client(self) -> MasterClient:
        return MasterClient(
            f"tcp://127.0.0.1:{self.ports['ret_port']}",
            read_token(self.master_options["pki_dir"]),
            bus_pub=self.bus_pub,
            bus_pull=self.bus_pull,
            bus_curve=self.bus_curve,
        )

    # -- minions --------------------------------------------------------------------
    def _minion_argv(self, extra: list[str], options: dict[str, Any], name: str) -> list[str]:
        config = self.workdir / "minions" / f"{name}.yaml"
        config.parent.mkdir(parents=True, exist_ok=True)
        merged = {
            "master": "127.0.0.1",
            "master_port": self.ports["ret_port"],
            **self.minion_options,
            **options,
        }
        config.write_text(yaml.safe_dump(merged))
        return [sys.executable, "-m", "saltsim_minion", "-c", str(config), "-l", "info", *extra]

    def add_minion(
        self, minion_id: str, start: bool = True, *, name: str | None = None, **options: Any
    ) -> None:
        """A minion process; ``name`` is its handle here (default: its id), so two
        processes may claim one id (a denied key)."""
        name = name or minion_id
        if name in self._minions:
            raise TestbedError(f"minion {name} already exists")
        pki = str(options.pop("pki_dir", self.workdir / "minions" / name / "pki"))
        argv = self._minion_argv(["--id", minion_id, "--pki-dir", pki], options, name)
        self._minions[name] = _MinionSpec(argv)
        if start:
            self.start_minion(name)

    def add_swarm(
        self, prefix: str, count: int, keys_dir: str | None = None, **options: Any
    ) -> None:
        """``count`` minions ``prefix-1..N`` in one process; keys cached in ``keys_dir``."""
        name = f"swarm-{prefix}"
        keys = keys_dir or str(self.workdir / "swarm-keys")
        argv = self._minion_argv(
            ["--swarm", str(count), "--prefix", prefix, "--keys-dir", keys], options, name
        )
        self._minions[name] = _MinionSpec(argv)
        self.start_minion(name)

    def _spec(self, minion_id: str) -> _MinionSpec:
        try:
            return self._minions[minion_id]
        except KeyError:
            raise TestbedError(f"no minion {minion_id!r}; add_minion() it first") from None

    def start_minion(self, minion_id: str) -> None:
        spec = self._spec(minion_id)
        if spec.child is not None and spec.child.alive:
            raise TestbedError(f"minion {minion_id} is already running")
        spec.child = Child(minion_id, spec.argv, self.workdir / "logs" / f"{minion_id}.log")
        spec.child.start()

    def _child(self, minion_id: str) -> Child:
        child = self._spec(minion_id).child
        if child is None:
            raise TestbedError(f"minion {minion_id} was never started")
        return child

    def stop_minion(self, minion_id: str) -> None:
        self._child(minion_id).stop()

    def kill_minion(self, minion_id: str) -> None:
        self._child(minion_id).kill()

    def pause_minion(self, minion_id: str) -> None:
        self._child(minion_id).signal(signal.SIGSTOP)

    def unpause_minion(self, minion_id: str) -> None:
        self._child(minion_id).signal(signal.SIGCONT)

    def minion_exit_code(self, minion_id: str, timeout: float = 10.0) -> int:
        child = self._child(minion_id)
        assert child.proc is not None
        return child.proc.wait(timeout)

    def disconnect_minion(self, minion_id: str) -> None:
        raise NotSupportedError(
            "network disconnect is not supported by the local backend; "
            "use the docker backend (or pause_minion for a silent minion)"
        )

    def reconnect_minion(self, minion_id: str) -> None:
        self.disconnect_minion(minion_id)

    # -- cloud provider -------------------------------------------------------------
    def start_cloud(self, **options: Any) -> str:
        """Start cloud-sim (``saltsim_cloudsim`` options: ``provision_delay``, ...) with the
        local backend: its instances' minions are processes. Returns its URL as the master
        reaches it, here also ``cloud_url_host``."""
        if self._cloud is not None and self._cloud.alive:
            raise TestbedError("cloud-sim is already running")
        config = self.workdir / "cloud.yaml"
        config.write_text(yaml.safe_dump(options))
        argv = [sys.executable, "-m", "saltsim_cloudsim", "-c", str(config), "-l", "info"]
        argv += ["--backend", "local", "--host", "127.0.0.1", "--port", "0"]
        argv += ["--workdir", str(self.workdir / "cloud")]
        self._cloud = child = Child("cloud-sim", argv, self.workdir / "logs" / "cloud-sim.log")
        child.start(pump=False)
        url = str(child.wait_line("ready", self.start_timeout)["url"])  # its port, bound
        wait_cloud_health(url, self.start_timeout, lambda: None if child.alive else child.tail())
        self._cloud_url = url
        return url

    @property
    def cloud_url_host(self) -> str:
        """cloud-sim's URL as this process reaches it."""
        if self._cloud_url is None:
            raise TestbedError("no cloud-sim in this testbed; start_cloud() it first")
        return self._cloud_url

    # -- master ---------------------------------------------------------------------
    def stop_master(self) -> None:
        if self._master is not None:
            self._master.stop()

    def restart_master(self) -> None:
        """Stop and start the master on the same ports, pki and cache (a kept volume)."""
        self.stop_master()
        self._start_master()

    def logs(self, name: str) -> str:
        if name == "cloud-sim":
            return self._cloud.tail(200) if self._cloud is not None else ""
        child = self._master if name == "master" else self._spec(name).child
        return child.tail(200) if child is not None else ""
