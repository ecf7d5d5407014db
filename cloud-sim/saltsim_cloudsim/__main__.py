"""``python -m saltsim_cloudsim``: run the fake cloud provider in the foreground.

Prints one JSON line when it serves (``{"ready": true, "url", "backend"}``) and one when
it stops; logs go to stderr. SIGTERM or SIGINT stops every minion it started, then exits.

This is the one module that wires cloud-sim together: the backend chosen by name
(``BACKEND_TYPES``; the ``Backend`` interface knows none of them), the service over it,
the HTTP server over the service.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import socket
import sys
from collections.abc import Callable

from saltsim.errors import SaltsimError
from saltsim.logsetup import add_log_option, setup_logging
from saltsim_cloudsim.backend import Backend
from saltsim_cloudsim.config import BACKENDS, CloudSimConfig, load_cloudsim_config
from saltsim_cloudsim.docker_backend import DockerBackend
from saltsim_cloudsim.local_backend import LocalBackend
from saltsim_cloudsim.server import CloudServer
from saltsim_cloudsim.service import CloudService

__all__ = ["BACKEND_TYPES", "main", "make_backend"]

# One per name in config.BACKENDS. DockerBackend imports the docker SDK only when made.
BACKEND_TYPES: dict[str, Callable[[CloudSimConfig], Backend]] = {
    "local": LocalBackend,
    "docker": DockerBackend,
}


def make_backend(config: CloudSimConfig) -> Backend:
    """The configured backend; the docker one checks the engine and its network now."""
    return BACKEND_TYPES[config.backend](config)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="saltsim-cloudsim",
        description="a fake cloud provider whose instances become saltsim minions",
    )
    parser.add_argument("-c", "--config", help="YAML config file (SALTSIM_CLOUD_* env wins)")
    parser.add_argument("--host", help="address to serve on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port to serve on (default 8080; 0: any)")
    parser.add_argument("--backend", choices=BACKENDS, help="minion processes or containers")
    parser.add_argument("--workdir", help="local backend: one folder per instance below it")
    parser.add_argument("--provision-delay", type=float, metavar="S")
    parser.add_argument("--boot-delay", type=float, metavar="S")
    parser.add_argument("--shutdown-delay", type=float, metavar="S")
    parser.add_argument("--max-instances", type=int, metavar="N")
    add_log_option(parser)
    return parser


async def _serve(config: CloudSimConfig, backend: Backend, sock: socket.socket) -> None:
    service = CloudService(config, backend)
    server = CloudServer(service)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    ticker = asyncio.ensure_future(service.run_ticker())
    try:
        await server.start(sock)
        print(json.dumps({"ready": True, "url": server.url, "backend": backend.name}), flush=True)
        await stopping.wait()
    finally:
        ticker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await ticker
        await server.stop()
        await service.close()
        print(json.dumps({"stopped": True, "instances": len(service.fleet)}), flush=True)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    setup_logging(args.log_level)
    try:
        config = load_cloudsim_config(
            args.config,
            host=args.host,
            port=args.port,
            backend=args.backend,
            workdir=args.workdir,
            provision_delay=args.provision_delay,
            boot_delay=args.boot_delay,
            shutdown_delay=args.shutdown_delay,
            max_instances=args.max_instances,
        )
        backend = make_backend(config)
        family = socket.AF_INET6 if ":" in config.host else socket.AF_INET
        sock = socket.create_server((config.host, config.port), family=family, backlog=128)
    except (SaltsimError, OSError) as exc:
        print(f"saltsim-cloudsim: error: {exc}", file=sys.stderr)
        return 2
    sock.setblocking(False)
    try:
        asyncio.run(_serve(config, backend, sock))
    finally:
        sock.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
