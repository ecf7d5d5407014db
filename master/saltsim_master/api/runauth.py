"""Who runs a lowstate chunk of ``POST /run`` (or ``POST /token``): salt-api's order and
salt-api's words.

A ``/run`` chunk carries its own credentials and no session: a ``token`` (from
``POST /login`` or ``POST /token``), else ``username``, ``password`` and ``eauth``. As in
Salt's NetapiClient, the token wins when both are there. A refusal is a 401 with the
message salt-api gives for that client, because clients and tutorials match on it:

- a token that is not hex: ``Invalid token`` (salt-api checks that before anything);
- a ``local``/``local_async`` chunk that fails either way: LocalClient's "Failed to
  authenticate! ..." (the master answers its publish with nothing);
- a ``runner``/``wheel`` chunk: the master's ``Authentication failure of type "token"
  occurred.``, or ``... of type "eauth" occurred for user <name>.``;
- neither a token nor eauth: ``No authentication credentials given``.
"""

from __future__ import annotations

from typing import Any

from saltsim_master.api.errors import Unauthorized
from saltsim_master.api.tokens import Tokens

__all__ = ["LOCAL_REFUSED", "chunk_user"]

LOCAL_REFUSED = (
    "Failed to authenticate! This is most likely because this user is not permitted to "
    "execute commands, but there is a small possibility that a disk error occurred (check "
    "disk/inode usage)."
)


def _is_hex(value: object) -> bool:
    if not isinstance(value, str) or not value:
        return False
    try:
        int(value, 16)
    except ValueError:
        return False
    return True


def chunk_user(chunk: dict[str, Any], tokens: Tokens) -> str:
    """The user a checked ``/run`` chunk runs as, or ``Unauthorized`` worded as salt-api."""
    local = str(chunk.get("client", "")).startswith("local")
    if "token" in chunk:
        token = chunk["token"]
        if not _is_hex(token):
            tokens.refused += 1
            raise Unauthorized("Invalid token")
        found = tokens.find(token)
        if found is None:
            raise Unauthorized(
                LOCAL_REFUSED if local else 'Authentication failure of type "token" occurred.'
            )
        return found.user
    if "eauth" in chunk:
        username = chunk.get("username")
        try:
            return tokens.verify(username, chunk.get("password"), chunk["eauth"])
        except Unauthorized:
            if local:
                raise Unauthorized(LOCAL_REFUSED) from None
            raise Unauthorized(
                f'Authentication failure of type "eauth" occurred for user {username}.'
            ) from None
    tokens.refused += 1
    raise Unauthorized("No authentication credentials given")
