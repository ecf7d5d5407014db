"""Many minions in one process and one event loop, each with its own id, key and sockets.

Key generation (RSA-2048, ~50 ms each) is kept out of timed windows: keys are
made once into ``keys_dir/<id>/`` and reused on later runs. They are loaded
without OpenSSL's RSA consistency check, which costs ~40 ms a key (5,000 keys:
over three minutes of CPU before the first sign-in) and guards nothing for a key
this code wrote itself. The ZeroMQ context's socket limit is raised to fit two
sockets per minion, and the open-file limit is raised to the hard limit.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import resource
from pathlib import Path

import zmq
import zmq.asyncio
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from saltsim.crypto import KeyPair
from saltsim.private import read_secret
from saltsim_minion.config import MinionConfig
from saltsim_minion.minion import Minion

__all__ = ["Swarm", "load_keys", "raise_fd_limit", "swarm_ids"]


def swarm_ids(prefix: str, count: int, start: int = 1) -> list[str]:
    return [f"{prefix}-{n}" for n in range(start, start + count)]


def load_keys(pki_dir: Path) -> KeyPair:
    """The minion's cached key pair, loaded fast; made (and checked) as usual when absent."""
    pem = read_secret(pki_dir / "minion.pem")  # refuses a symlink or another user's key
    if pem is None:
        return KeyPair.load_or_create(pki_dir)
    try:
        # Skipping the RSA consistency check makes loading ~20x faster for keys we made.
        key = serialization.load_pem_private_key(pem, None, unsafe_skip_rsa_key_validation=True)
    except TypeError:  # cryptography < 39 (Debian bookworm's 38 in the images) checks always
        key = serialization.load_pem_private_key(pem, None)
    if not isinstance(key, rsa.RSAPrivateKey):
        return KeyPair.load_or_create(pki_dir)  # raises the usual CryptoError
    return KeyPair(key)


def raise_fd_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


class Swarm:
    """``ids`` as long-lived minions in one event loop and one ZeroMQ context.

    Each minion has the template's settings with its own id and key pair from
    ``keys_dir/<id>/``; ``run()`` runs them all until cancelled, then says every goodbye,
    closes every socket and ends the context.
    """

    def __init__(self, template: MinionConfig, ids: list[str], keys_dir: str) -> None:
        raise_fd_limit()
        self.ctx = zmq.asyncio.Context()
        self.ctx.set(zmq.MAX_SOCKETS, max(1024, 2 * len(ids) + 64))
        self.minions: list[Minion] = []
        for minion_id in ids:
            pki = Path(keys_dir) / minion_id
            config = dataclasses.replace(template, id=minion_id, pki_dir=str(pki))
            self.minions.append(Minion(config, self.ctx, load_keys(pki)))

    async def run(self) -> None:
        tasks = [asyncio.create_task(m.run()) for m in self.minions]
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*(m.goodbye() for m in self.minions), return_exceptions=True)
            for minion in self.minions:
                minion.close()
            with contextlib.suppress(zmq.ZMQError):
                self.ctx.term()
