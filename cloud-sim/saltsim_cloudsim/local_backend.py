"""The local backend: each deployed instance is a minion process on this machine.

``<workdir>/<instance id>/pki`` holds its key pair (written first when the deploy brings
one, else made by the minion) and, beside it, its local event socket; its log goes to
``<workdir>/logs/<instance id>.log`` and is kept after the instance is gone. A destroy
sends SIGTERM (the minion says goodbye to the master), SIGKILL after
``minion_stop_timeout``, and removes the instance's folder. On Linux the minions also get
SIGTERM when cloud-sim itself dies, so none outlives it.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import shutil
import signal
import sys
from pathlib import Path

from saltsim_cloudsim.backend import option_env
from saltsim_cloudsim.bodies import DeployBody
from saltsim_cloudsim.config import CloudSimConfig
from saltsim_cloudsim.errors import InternalError
from saltsim_cloudsim.machine import Instance

__all__ = ["LocalBackend", "write_key_pair"]

log = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the child, before exec: SIGTERM when the parent (cloud-sim) dies."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM))


def write_key_pair(pki: Path, pem: str, pub: str) -> None:
    """``minion.pem`` (mode 0600) and ``minion.pub``, as ``KeyPair.load_or_create`` keeps them."""
    pki.mkdir(parents=True, exist_ok=True)
    fd = os.open(pki / "minion.pem", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(pem)
    (pki / "minion.pub").write_text(pub)


class LocalBackend:
    """A ``Backend`` whose minions are processes on this machine (see the module)."""

    name = "local"

    def __init__(self, config: CloudSimConfig) -> None:
        self.workdir = config.workdir_path
        self.python = config.python or sys.executable
        self.stop_timeout = config.minion_stop_timeout
        self._procs: dict[str, asyncio.subprocess.Process] = {}  # handle (pid) -> process

    def folder(self, instance: Instance) -> Path:
        return self.workdir / instance.id

    async def start(self, instance: Instance, deploy: DeployBody) -> str:
        pki = self.folder(instance) / "pki"
        pki.mkdir(parents=True, exist_ok=True)
        if deploy.pem is not None and deploy.pub is not None:
            write_key_pair(pki, deploy.pem, deploy.pub)
        argv = [
            self.python,
            "-m",
            "saltsim_minion",
            "--id",
            deploy.minion_id,
            "--master",
            deploy.master,
            "--master-port",
            str(deploy.master_port),
            "--pki-dir",
            str(pki),
            "-l",
            "info",
        ]
        # cloud-sim's own SALTSIM_* settings are not the minion's
        env = {k: v for k, v in os.environ.items() if not k.startswith("SALTSIM_")}
        env.update(option_env(deploy.options))
        log_path = self.workdir / "logs" / f"{instance.id}.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with log_path.open("ab") as out:
                proc = await asyncio.create_subprocess_exec(
                    *argv,
                    stdin=asyncio.subprocess.DEVNULL,
                    stdout=out,
                    stderr=out,
                    env=env,
                    preexec_fn=_die_with_parent,
                )
        except OSError as exc:
            raise InternalError(f"cannot start a minion with {self.python}: {exc}") from exc
        handle = str(proc.pid)
        self._procs[handle] = proc
        log.info(
            "%s (%s): minion %s is pid %s", instance.id, instance.name, deploy.minion_id, handle
        )
        return handle

    async def stop(self, instance: Instance, handle: str) -> None:
        proc = self._procs.pop(handle, None)
        if proc is not None:
            await self._stop(proc)
        shutil.rmtree(self.folder(instance), ignore_errors=True)

    async def _stop(self, proc: asyncio.subprocess.Process) -> None:
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.terminate()
                os.kill(proc.pid, signal.SIGCONT)  # in case it was paused
            try:
                await asyncio.wait_for(proc.wait(), self.stop_timeout)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                await proc.wait()
        log.info("minion pid %s exited (%s)", proc.pid, proc.returncode)

    async def close(self) -> None:
        procs, self._procs = list(self._procs.values()), {}
        await asyncio.gather(*(self._stop(proc) for proc in procs))
