"""The API's refusals: each one is an HTTP status with a JSON body, never a traceback.

``{"status": <code>, "error": <what went wrong and what to do>}``; the middleware in
``server`` turns these (and aiohttp's own HTTP errors) into that body.
"""

from __future__ import annotations

from saltsim.errors import SaltsimError

__all__ = ["ApiError", "BadRequest", "PayloadTooLarge", "RequestTimeout", "Unauthorized"]


class ApiError(SaltsimError):
    """A request the API answers with ``status`` and a JSON error."""

    status = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def body(self) -> dict[str, object]:
        return {"status": self.status, "error": self.message}


class BadRequest(ApiError, ValueError):
    """A malformed or unusable body, lowstate or parameter (400)."""

    status = 400


class Unauthorized(ApiError, PermissionError):
    """No token, an unknown or expired one, or bad credentials (401)."""

    status = 401


class RequestTimeout(ApiError, TimeoutError):
    """A body that did not arrive within ``api_body_timeout`` (408)."""

    status = 408


class PayloadTooLarge(ApiError, ValueError):
    """A body over ``api_max_body`` bytes (413), refused before it is read."""

    status = 413
