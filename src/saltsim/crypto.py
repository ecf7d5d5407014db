"""Keys and ciphers of the request and publish channels, all from ``cryptography``.

- Each minion has an RSA-2048 key pair made on first start and kept (``minion.pem``,
  ``minion.pub``), as Salt does.
- On an accepted sign-in the master sends two AES-256 keys encrypted to the
  minion's public key with RSA-OAEP: the shared publish key (Salt's AES session
  key, rotated after a key is rejected or deleted) and a per-minion request key,
  so one minion cannot forge another's requests.
- Sealed loads are msgpack under AES-GCM with a random 96-bit nonce; the
  associated data binds a sealed load to its sender id.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from saltsim.errors import SaltsimError
from saltsim.private import private_dir, read_secret, write_public, write_secret
from saltsim.wire import decode_data, encode_data

__all__ = [
    "CryptoError",
    "KeyPair",
    "SessionCipher",
    "decrypt_with",
    "encrypt_to",
    "load_public",
    "new_session_key",
]

_OAEP = padding.OAEP(
    mgf=padding.MGF1(algorithm=hashes.SHA256()), algorithm=hashes.SHA256(), label=None
)
_NONCE = 12


class CryptoError(SaltsimError, ValueError):
    """A key, ciphertext or signature that does not verify."""


class KeyPair:
    """An RSA key pair with its public half as PEM text (what the master stores)."""

    def __init__(self, private: rsa.RSAPrivateKey) -> None:
        self.private = private
        self.public_pem = (
            private.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )

    @classmethod
    def generate(cls) -> KeyPair:
        return cls(rsa.generate_private_key(public_exponent=65537, key_size=2048))

    @classmethod
    def load_or_create(cls, pki_dir: str | Path, name: str = "minion") -> KeyPair:
        """Keep the key pair in ``pki_dir`` (a 0700 directory; private key 0600), making it
        once. A private key found as a symlink, of another owner or readable by others is
        refused (``ConfigError``), never adopted: someone else would hold this identity."""
        folder = private_dir(pki_dir)
        private_path, public_path = folder / f"{name}.pem", folder / f"{name}.pub"
        found = read_secret(private_path)
        if found is not None:
            try:
                loaded = serialization.load_pem_private_key(found, password=None)
            except (ValueError, TypeError) as exc:
                raise CryptoError(f"{private_path} is not a PEM private key: {exc}") from exc
            if not isinstance(loaded, rsa.RSAPrivateKey):
                raise CryptoError(f"{private_path} is not an RSA private key")
            return cls(loaded)
        pair = cls.generate()
        pem = pair.private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
        write_secret(private_path, pem)
        write_public(public_path, pair.public_pem.encode())
        return pair

    def decrypt(self, blob: bytes) -> bytes:
        return decrypt_with(self.private, blob)


def load_public(pem: str) -> rsa.RSAPublicKey:
    """Parse a PEM public key; ``CryptoError`` for anything else."""
    try:
        key = serialization.load_pem_public_key(pem.encode())
    except (ValueError, TypeError) as exc:
        raise CryptoError(f"not a PEM public key: {exc}") from exc
    if not isinstance(key, rsa.RSAPublicKey) or key.key_size < 2048:
        raise CryptoError("public key must be RSA of at least 2048 bits")
    return key


def encrypt_to(public: rsa.RSAPublicKey, secret: bytes) -> bytes:
    return public.encrypt(secret, _OAEP)


def decrypt_with(private: rsa.RSAPrivateKey, blob: bytes) -> bytes:
    try:
        return private.decrypt(blob, _OAEP)
    except ValueError as exc:
        raise CryptoError("RSA decryption failed") from exc


def new_session_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)


class SessionCipher:
    """AES-GCM over msgpack loads; ``open`` raises ``CryptoError`` on any tampering."""

    __slots__ = ("_aead", "key")

    def __init__(self, key: bytes) -> None:
        self.key = key
        self._aead = AESGCM(key)

    def seal(self, load: dict[Any, Any], aad: bytes = b"") -> bytes:
        nonce = os.urandom(_NONCE)
        return nonce + self._aead.encrypt(nonce, encode_data(load), aad or None)

    def open(self, blob: bytes, aad: bytes = b"") -> dict[Any, Any]:
        if not isinstance(blob, bytes) or len(blob) <= _NONCE + 16:
            raise CryptoError("sealed load is too short")
        try:
            plain = self._aead.decrypt(blob[:_NONCE], blob[_NONCE:], aad or None)
        except InvalidTag as exc:
            raise CryptoError("sealed load does not verify (wrong key or tampered)") from exc
        return decode_data(plain)
