"""ZeroMQ CURVE keys for the bus's remote endpoints (the bus is local ``ipc://`` otherwise).

A bus reached over TCP (the host's tools against a master container, the docker
testbed's recorder) runs CURVE: the bus holds a server key pair (``bus.key`` 0600 and
``bus.pub`` in its pki dir) and lets in only clients whose public keys it was given,
checked by libzmq's ZAP authenticator (``zmq.auth``). A client needs the server's public
key and a key pair of its own. Keys are Z85 text, 40 characters, as ``zmq.curve_keypair``
makes them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import zmq
from zmq.utils import z85

from saltsim.errors import ConfigError
from saltsim.private import read_secret, write_public, write_secret

__all__ = ["CurveClient", "CurveServer", "load_or_create_keypair", "parse_key"]

_Z85_LEN = 40


def parse_key(text: str | bytes, what: str) -> bytes:
    """A Z85 CURVE key from text; ``ConfigError`` naming ``what`` for anything else."""
    raw = text.strip() if isinstance(text, bytes) else text.strip().encode()
    try:
        decoded = z85.decode(raw) if len(raw) == _Z85_LEN else b""
    except (ValueError, KeyError):  # z85 raises KeyError on a character outside Z85
        decoded = b""
    if len(decoded) != 32:
        raise ConfigError(f"{what} must be a 40-character Z85 CURVE key, not {raw[:48]!r}")
    return raw


def load_or_create_keypair(
    secret_path: str | Path, public_path: str | Path | None = None
) -> tuple[bytes, bytes]:
    """``(public, secret)`` kept in ``secret_path`` (0600, checked like every secret),
    made once; the public half is also written to ``public_path`` for others to read."""
    found = read_secret(secret_path)
    if found is not None:
        secret = parse_key(found, str(secret_path))
        public = zmq.curve_public(secret)
    else:
        public, secret = zmq.curve_keypair()
        write_secret(secret_path, secret + b"\n")
    if public_path is not None:
        write_public(public_path, public + b"\n")
    return public, secret


@dataclasses.dataclass(frozen=True)
class CurveClient:
    """What a client needs to reach a CURVE bus."""

    server_key: bytes  # the bus's public key
    public_key: bytes
    secret_key: bytes

    @classmethod
    def generate(cls, server_key: bytes) -> CurveClient:
        public, secret = zmq.curve_keypair()
        return cls(server_key, public, secret)

    @classmethod
    def from_secret_file(cls, server_key: str | bytes, secret_path: str | Path) -> CurveClient:
        """The server's key (text) and this client's key pair, kept in ``secret_path``."""
        public, secret = load_or_create_keypair(secret_path)
        return cls(parse_key(server_key, "the bus server key"), public, secret)

    def apply(self, sock: zmq.Socket[Any]) -> None:
        """Set before ``connect``: options apply to connections made after them."""
        sock.curve_serverkey = self.server_key
        sock.curve_publickey = self.public_key
        sock.curve_secretkey = self.secret_key


@dataclasses.dataclass(frozen=True)
class CurveServer:
    """The bus side: its key pair and the client public keys it lets in."""

    public_key: bytes
    secret_key: bytes
    clients: frozenset[bytes]

    @classmethod
    def of(cls, public: bytes, secret: bytes, clients: Iterable[str | bytes]) -> CurveServer:
        allowed = frozenset(parse_key(c, "a bus client key") for c in clients)
        return cls(public, secret, allowed)

    def apply(self, sock: zmq.Socket[Any]) -> None:
        """Set before ``bind``: endpoints bound earlier (``ipc://``) keep no mechanism."""
        sock.curve_server = True
        sock.curve_publickey = self.public_key
        sock.curve_secretkey = self.secret_key

    def allows(self, domain: str, key: bytes) -> bool:
        """The ZAP authenticator's question; ``key`` arrives Z85-encoded."""
        return key in self.clients
