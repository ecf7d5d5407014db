"""An asyncio client of one cloud provider speaking the cloud-sim HTTP contract (v1).

Every failure is a ``ProviderError`` with the provider's code and message (its
``{"error": {"code", "message"}}`` body), or one of saltsim's own codes when no
such body came: ``Unreachable``, ``BadResponse``.
"""

from __future__ import annotations

from typing import Any

import aiohttp

__all__ = ["REQUEST_TIMEOUT", "ProviderClient", "ProviderError"]

# One HTTP request's limit. A deploy returns once the minion's process or container has
# started, which the docker engine may take a few seconds to do.
REQUEST_TIMEOUT = 60.0


class ProviderError(Exception):
    """What the provider refused or failed to do: ``code`` and ``message``."""

    def __init__(self, code: str, message: str, status: int | None = None) -> None:
        self.code, self.message, self.status = code, message, status
        super().__init__(f"{code}: {message}")


class ProviderClient:
    """``async with ProviderClient(url) as api:``; the session lives in the running loop."""

    def __init__(self, url: str, timeout: float = REQUEST_TIMEOUT) -> None:
        self.url = url.rstrip("/")
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> ProviderClient:
        self._session = aiohttp.ClientSession(timeout=self._timeout)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        assert self._session is not None, "use ProviderClient as an async context manager"
        url = f"{self.url}{path}"
        try:
            async with self._session.request(method, url, json=body) as response:
                status = response.status
                try:
                    answer = await response.json(content_type=None)
                except ValueError:
                    answer = None
        except (TimeoutError, aiohttp.ClientError) as exc:
            reason = str(exc) or type(exc).__name__
            raise ProviderError("Unreachable", f"{method} {url}: {reason}") from exc
        if not isinstance(answer, dict):
            raise ProviderError("BadResponse", f"{method} {url}: {status} without a JSON object")
        if status >= 400:
            error = answer.get("error")
            if isinstance(error, dict):
                code, message = error.get("code"), error.get("message")
                raise ProviderError(str(code), str(message), status)
            raise ProviderError("BadResponse", f"{method} {url}: {status} {answer!r}", status)
        return answer

    async def _instance(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        answer = await self._call(method, path, body)
        instance = answer.get("instance")
        if not isinstance(instance, dict) or not isinstance(instance.get("id"), str):
            raise ProviderError("BadResponse", f"{method} {path}: no instance in {answer!r}")
        return instance

    async def create(self, name: str, image: str, size: str) -> dict[str, Any]:
        body = {"name": name, "image": image, "size": size}
        return await self._instance("POST", "/v1/instances", body)

    async def describe(self, instance_id: str) -> dict[str, Any]:
        return await self._instance("GET", f"/v1/instances/{instance_id}")

    async def instances(self) -> list[dict[str, Any]]:
        answer = await self._call("GET", "/v1/instances")
        listed = answer.get("instances")
        if not isinstance(listed, list):
            raise ProviderError("BadResponse", f"GET /v1/instances: no list in {answer!r}")
        return [item for item in listed if isinstance(item, dict)]

    async def deploy(self, instance_id: str, body: dict[str, Any]) -> dict[str, Any]:
        answer: dict[str, Any] = await self._call(
            "POST", f"/v1/instances/{instance_id}/deploy", body
        )
        return answer

    async def destroy(self, instance_id: str) -> dict[str, Any]:
        return await self._instance("DELETE", f"/v1/instances/{instance_id}")
