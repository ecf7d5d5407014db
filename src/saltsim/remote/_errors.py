"""What a remote listener raises; every class is a ``SaltsimError`` and a builtin."""

from __future__ import annotations

from saltsim.errors import NotSupportedError, SaltsimError

__all__ = ["NotSupportedError", "RemoteAuthError", "RemoteError"]


class RemoteError(SaltsimError, ConnectionError):
    """The REST API cannot serve the stream (not an SSE endpoint, a bad certificate, ...)."""


class RemoteAuthError(RemoteError, PermissionError):
    """The API refused the login or the token (wrong password, token expired, no rights)."""


# ``NotSupportedError`` (the REST API has no way to do this; the message says what does)
# is saltsim's one, from ``saltsim.errors``; it stays importable from here.
