"""The API's self-signed certificate: made at the first start, reused after.

``api.crt`` and ``api.key`` (0600) live in the master's pki dir, so a restarted master
(or a container whose volume is kept) serves the same certificate and clients that
pinned it keep working. The key is EC P-256: made in milliseconds, unlike RSA.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import socket
import ssl
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from saltsim.private import read_secret

__all__ = ["ensure_certificate", "server_context"]

_VALID = dt.timedelta(days=3650)


def _names(interface: str) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = [x509.DNSName("localhost"), x509.DNSName(socket.getfqdn())]
    addresses = {"127.0.0.1", "::1"}
    if interface not in ("", "0.0.0.0", "::"):
        addresses.add(interface)
    for address in sorted(addresses):
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(address)))
        except ValueError:  # a host name given as interface
            names.append(x509.DNSName(address))
    return names


def _write(path: Path, data: bytes, mode: int) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(tmp, path)


def ensure_certificate(pki_dir: str | Path, interface: str) -> tuple[Path, Path]:
    """``(certificate, key)`` paths, making both if either is missing."""
    folder = Path(pki_dir)
    crt, key_path = folder / "api.crt", folder / "api.key"
    # read_secret refuses a key that is a symlink, another user's, or readable by others
    if crt.exists() and read_secret(key_path) is not None:
        return crt, key_path
    folder.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "saltsim-master")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + _VALID)
        .add_extension(x509.SubjectAlternativeName(_names(interface)), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    pem_key = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    _write(key_path, pem_key, 0o600)
    _write(crt, cert.public_bytes(serialization.Encoding.PEM), 0o644)
    return crt, key_path


def server_context(crt: Path, key: Path) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(crt), str(key))
    return context
