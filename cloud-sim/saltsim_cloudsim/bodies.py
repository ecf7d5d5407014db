"""Request bodies, checked at the edge: a dataclass each, or ``BadRequest`` saying why.

Unknown keys are ignored (a caller may send more than the contract names); missing or
mistyped ones are refused. An instance name becomes a host name and part of a container
name, so it is limited to what both accept.
"""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from saltsim_cloudsim.errors import BadRequest
from saltsim_cloudsim.faults import KINDS

__all__ = ["CreateBody", "DeployBody", "FaultBody", "parse_create", "parse_deploy", "parse_fault"]

_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,61}[A-Za-z0-9])?$")
_MINION_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$")
_OPTION = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
# Set by cloud-sim from the deploy body and its own workdir, never through options.
_FIXED_OPTIONS = frozenset({"id", "master", "master_port", "pki_dir"})


@dataclasses.dataclass(frozen=True)
class CreateBody:
    """``POST /v1/instances``: the instance's name, image and size."""

    name: str
    image: str
    size: str


@dataclasses.dataclass(frozen=True)
class DeployBody:
    """``POST /v1/instances/{id}/deploy``: the minion's master, id, keys and options."""

    master: str
    master_port: int
    minion_id: str
    pem: str | None = None
    pub: str | None = None
    options: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class FaultBody:
    """``POST /v1/faults``: a kind, struck ``count`` times or at a seeded ``rate``."""

    kind: str
    count: int | None = None
    rate: float | None = None
    seed: int | None = None


def decode(raw: bytes) -> dict[str, Any]:
    """The body as a JSON object, or ``BadRequest``."""
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadRequest(f"the body is not JSON: {exc}") from None
    except RecursionError:  # [[[[...: json recurses once per level; the client's error
        raise BadRequest("the body is nested too deeply") from None
    if not isinstance(body, dict):
        raise BadRequest(f"the body must be a JSON object, not {type(body).__name__}")
    if _depth(body) > _MAX_DEPTH:
        raise BadRequest(f"the body is nested deeper than {_MAX_DEPTH} levels")
    return body


# Bodies here are two levels deep (options in a deploy); deeper ones that json still
# parses would only reach code that recurses (answers, logs) and fail there with a 500.
_MAX_DEPTH = 32


def _depth(value: Any) -> int:
    """Nesting depth of a JSON value, without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict | list):
            deepest = max(deepest, depth)
            if depth <= _MAX_DEPTH:  # past the limit the answer is known: stop walking
                stack.extend((child, depth + 1) for child in _children(node))
    return deepest


def _children(node: dict[str, Any] | list[Any]) -> list[Any]:
    return list(node.values()) if isinstance(node, dict) else node


def _text(body: dict[str, Any], key: str, limit: int = 128) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value.strip():
        raise BadRequest(f"{key!r} must be a non-empty string, not {value!r}")
    if len(value) > limit:
        raise BadRequest(f"{key!r} is longer than {limit} characters")
    return value


def _int(value: Any, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRequest(f"{key!r} must be an integer, not {value!r}")
    return value


def parse_create(body: dict[str, Any]) -> CreateBody:
    name = _text(body, "name", 63)
    if not _NAME.match(name):
        raise BadRequest(
            f"name {name!r} must be a host name: letters, digits, '-' and '.', "
            "starting and ending with a letter or digit, at most 63 characters"
        )
    return CreateBody(name, _text(body, "image"), _text(body, "size"))


def _key_pair(pem: Any, pub: Any) -> tuple[str | None, str | None]:
    if pem is None and pub is None:
        return None, None
    if not isinstance(pem, str) or not isinstance(pub, str):
        raise BadRequest("'pem' and 'pub' go together: both PEM strings, or both null")
    try:
        private = serialization.load_pem_private_key(pem.encode(), password=None)
        public = serialization.load_pem_public_key(pub.encode())
    except (ValueError, TypeError) as exc:
        raise BadRequest(f"'pem' and 'pub' must be an unencrypted PEM key pair: {exc}") from None
    if not isinstance(private, rsa.RSAPrivateKey) or not isinstance(public, rsa.RSAPublicKey):
        raise BadRequest("'pem' and 'pub' must be an RSA key pair")
    if private.public_key().public_numbers() != public.public_numbers():
        raise BadRequest("'pub' is not the public half of 'pem'")
    return pem, pub


def parse_deploy(body: dict[str, Any]) -> DeployBody:
    master = _text(body, "master", 253)
    port = _int(body.get("master_port"), "master_port")
    if not 1 <= port <= 65535:
        raise BadRequest(f"'master_port' must be 1..65535, not {port}")
    minion_id = _text(body, "minion_id")
    if not _MINION_ID.match(minion_id):
        raise BadRequest(f"minion_id {minion_id!r}: letters, digits and . _ @ - only")
    options = body.get("options") or {}
    if not isinstance(options, dict):
        raise BadRequest(f"'options' must be an object, not {type(options).__name__}")
    for key in options:
        if not _OPTION.match(key):
            raise BadRequest(f"option {key!r} is not an option name (lowercase, digits, _)")
    fixed = sorted(set(options) & _FIXED_OPTIONS)
    if fixed:
        raise BadRequest(f"options may not set {', '.join(fixed)}: the deploy body does")
    pem, pub = _key_pair(body.get("pem"), body.get("pub"))
    return DeployBody(master, port, minion_id, pem, pub, dict(options))


def parse_fault(body: dict[str, Any]) -> FaultBody:
    kind = body.get("kind")
    if kind not in KINDS:
        raise BadRequest(f"'kind' must be one of {', '.join(KINDS)}, not {kind!r}")
    if ("count" in body) == ("rate" in body):
        raise BadRequest("give either 'count' (the next N creates) or 'rate' (0..1, with 'seed')")
    if "count" in body:
        count = _int(body["count"], "count")
        if count < 1:
            raise BadRequest(f"'count' must be at least 1, not {count}")
        return FaultBody(kind, count=count)
    rate = body["rate"]
    if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 <= rate <= 1:
        raise BadRequest(f"'rate' must be a number within 0..1, not {rate!r}")
    seed = body.get("seed")
    if seed is not None:
        seed = _int(seed, "seed")
    return FaultBody(kind, rate=float(rate), seed=seed)
