"""The provider's refusals: each one an HTTP status and a code, as the contract names them.

The body is always ``{"error": {"code": <code>, "message": <what and what to do>}}``;
the middleware in ``server`` turns these (and aiohttp's own HTTP errors) into it.
"""

from __future__ import annotations

from saltsim.errors import SaltsimError

__all__ = [
    "BadRequest",
    "CloudError",
    "InternalError",
    "InvalidState",
    "NameInUse",
    "NotFound",
    "QuotaExceeded",
]


class CloudError(SaltsimError):
    """A request the provider answers with ``status`` and an error code."""

    status = 500
    code = "InternalError"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def body(self) -> dict[str, dict[str, str]]:
        return {"error": {"code": self.code, "message": self.message}}


class BadRequest(CloudError, ValueError):
    """A body or parameter that cannot be used (400)."""

    status = 400
    code = "BadRequest"


class QuotaExceeded(CloudError, PermissionError):
    """``max_instances`` reached, the address pool empty, or an injected quota fault (403)."""

    status = 403
    code = "QuotaExceeded"


class NotFound(CloudError, LookupError):
    """No instance with that id (or it was purged after its 60 s as terminated) (404)."""

    status = 404
    code = "NotFound"


class NameInUse(CloudError, ValueError):
    """A non-terminated instance already has that name (409)."""

    status = 409
    code = "NameInUse"


class InvalidState(CloudError, ValueError):
    """The instance is not in a state that allows the action, e.g. deploy before running (409)."""

    status = 409
    code = "InvalidState"


class InternalError(CloudError, RuntimeError):
    """An injected create error, or the backend failed to start a minion (500)."""

    status = 500
    code = "InternalError"
