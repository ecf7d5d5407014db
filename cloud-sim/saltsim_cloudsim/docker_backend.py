"""The docker backend: each deployed instance is a minion container on the testbed network.

cloud-sim runs in the compose project with the engine's socket mounted, and starts the
containers itself through the docker SDK, as a provider's hypervisor would start VMs.
Where the configuration leaves them empty, the network, the session label and the name
prefix are read from cloud-sim's own container (found by its host name, the container
id Docker gives it): whatever Compose version or project name made the stack, the VMs
join the same network and carry the same session label, so ``make clean ALL=1`` and the
testbed's label sweep remove leftovers. Each VM container is ``<prefix>-vm-<name>``,
host name ``<name>``, labels ``org.saltsim.session`` and ``org.saltsim.cloud=<instance id>``.
A deploy's key pair is copied into the container (``put_archive``) before it starts.
"""

from __future__ import annotations

import asyncio
import io
import logging
import socket
import tarfile
import time
from typing import Any

from saltsim_cloudsim.backend import option_env
from saltsim_cloudsim.bodies import DeployBody
from saltsim_cloudsim.config import CloudSimConfig
from saltsim_cloudsim.errors import InternalError
from saltsim_cloudsim.machine import Instance

__all__ = ["CLOUD_LABEL", "PKI_DIR", "SESSION_LABEL", "DockerBackend", "key_archive"]

log = logging.getLogger(__name__)

SESSION_LABEL = "org.saltsim.session"
CLOUD_LABEL = "org.saltsim.cloud"
PKI_DIR = "/var/lib/saltsim/minion/pki"
_PROJECT_LABELS = ("com.docker.compose.project", "com.docker.stack.namespace")
_COMMAND = ["python3", "-m", "saltsim_minion", "-l", "info"]
_HEALTHCHECK = {
    "test": ["CMD", "python3", "-m", "saltsim.health", "minion"],
    "interval": 5_000_000_000,
    "timeout": 3_000_000_000,
    "retries": 12,
}


def key_archive(pem: str, pub: str, pki_dir: str = PKI_DIR) -> bytes:
    """A tar of ``<pki_dir>/minion.pem`` (0600) and ``minion.pub`` to extract at ``/``."""
    buffer = io.BytesIO()
    now = time.time()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        parts = pki_dir.strip("/").split("/")
        for depth in range(1, len(parts) + 1):
            folder = tarfile.TarInfo("/".join(parts[:depth]))
            folder.type, folder.mode, folder.mtime = tarfile.DIRTYPE, 0o755, now
            tar.addfile(folder)
        for name, text, mode in (("minion.pem", pem, 0o600), ("minion.pub", pub, 0o644)):
            data = text.encode()
            info = tarfile.TarInfo("/".join([*parts, name]))
            info.size, info.mode, info.mtime = len(data), mode, now
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


class DockerBackend:
    """A ``Backend`` whose minions are containers on the testbed network (see the module)."""

    name = "docker"

    def __init__(self, config: CloudSimConfig) -> None:
        import docker  # only this backend needs the SDK and an engine

        self.image = config.minion_image
        self.stop_timeout = config.minion_stop_timeout
        try:
            self._client: Any = docker.from_env(timeout=120)
            self._client.ping()
        except Exception as exc:  # the SDK raises several unrelated types for "no engine"
            raise InternalError(f"the docker backend reaches no engine: {exc}") from exc
        self.network, self.session, self.prefix = self._placement(config)
        self._containers: dict[str, Any] = {}  # handle (container name) -> container
        log.info(
            "docker backend: network %s, session %s, containers %s-vm-<name>, image %s",
            self.network,
            self.session,
            self.prefix,
            self.image,
        )

    def _placement(self, config: CloudSimConfig) -> tuple[str, str, str]:
        """Network, session and prefix: configured, else read from our own container."""
        network, session, prefix = config.network, config.session, config.name_prefix
        if network and session and prefix:
            return network, session, prefix
        try:
            own = self._client.containers.get(socket.gethostname())
        except Exception:  # not in a container, or a host name of our own
            own = None
        if own is not None:
            labels = own.labels
            networks = list(own.attrs["NetworkSettings"]["Networks"])
            network = network or next(
                (n for n in networks if n.endswith("saltnet")), networks[0] if networks else ""
            )
            session = session or labels.get(SESSION_LABEL, "")
            prefix = prefix or next((labels[k] for k in _PROJECT_LABELS if k in labels), "")
        if not network:
            raise InternalError(
                "the docker backend needs the testbed network: set SALTSIM_CLOUD_NETWORK, or run "
                "cloud-sim in a container of the stack (without a hostname of its own)"
            )
        return network, session or "manual", prefix or "saltsim"

    async def start(self, instance: Instance, deploy: DeployBody) -> str:
        return await asyncio.to_thread(self._start, instance, deploy)

    def _start(self, instance: Instance, deploy: DeployBody) -> str:
        name = f"{self.prefix}-vm-{instance.name}"
        env = {
            "SALTSIM_ID": deploy.minion_id,
            "SALTSIM_MASTER": deploy.master,
            "SALTSIM_MASTER_PORT": str(deploy.master_port),
            "SALTSIM_PKI_DIR": PKI_DIR,
            **option_env(deploy.options),
        }
        try:
            container = self._client.containers.create(
                self.image,
                _COMMAND,
                name=name,
                hostname=instance.name,
                environment=env,
                labels={SESSION_LABEL: self.session, CLOUD_LABEL: instance.id},
                network=self.network,
                healthcheck=_HEALTHCHECK,
            )
        except Exception as exc:
            raise InternalError(f"cannot create the minion container {name}: {exc}") from exc
        self._containers[name] = container
        try:
            if deploy.pem is not None and deploy.pub is not None:
                container.put_archive("/", key_archive(deploy.pem, deploy.pub))
            container.start()
        except Exception as exc:
            self._remove(name)
            raise InternalError(f"cannot start the minion container {name}: {exc}") from exc
        log.info(
            "%s (%s): minion %s is container %s", instance.id, instance.name, deploy.minion_id, name
        )
        return str(name)

    async def stop(self, instance: Instance, handle: str) -> None:
        await asyncio.to_thread(self._remove, handle)

    def _remove(self, handle: str) -> None:
        """Stop (the minion says goodbye), then remove; a container already gone is fine."""
        container = self._containers.pop(handle, None)
        if container is None:
            return
        try:
            container.stop(timeout=int(self.stop_timeout))
        except Exception as exc:
            log.warning("stopping %s: %s", handle, exc)
        try:
            container.remove(force=True)
        except Exception as exc:
            log.warning("removing %s: %s", handle, exc)
        log.info("container %s removed", handle)

    async def close(self) -> None:
        handles = list(self._containers)
        await asyncio.gather(*(asyncio.to_thread(self._remove, h) for h in handles))
        self._client.close()
