"""Request bodies as salt-api reads them: JSON, form-encoded, YAML or plain text.

``BodyReader.read`` returns the raw text and the parsed data; a body that does not
parse is a ``BadRequest`` (400) naming the problem, never a 500. Form fields that
repeat (``-d arg=a -d arg=b``) become a list, as in CherryPy.

The API shares the master's event loop, so a body must never hold it for long
(one quadratic form parse held it 22 s). Every body is bounded (``BodyLimits``):
its size is checked against Content-Length before a byte is read, and it must
arrive within ``body_timeout``. Its values are counted before parsing, in C
(``str.count``): form fields by ``&``; JSON values by ``,``, ``[`` and ``{`` (an upper
bound, strings included), so ``json.loads``, which holds the GIL throughout, only
ever sees a bounded document. Parses that are Python-level work over many values
(large forms and JSON, YAML) run in the reader's own worker thread, which
hands the loop back at every interpreter switch interval.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import ClientPayloadError, web
from aiohttp.http_exceptions import HttpProcessingError

from saltsim_master.api.errors import BadRequest, PayloadTooLarge, RequestTimeout
from saltsim_master.api.limits import BodyLimits, check_tree
from saltsim_master.api.yamlbody import load_yaml

__all__ = ["BodyReader", "parse"]

_FORM = "application/x-www-form-urlencoded"
_YAML = ("application/x-yaml", "text/yaml")
# Parses of up to this many values (or YAML of up to this many bytes) run on the loop:
# they take well under a millisecond, less than handing them to a thread.
_INLINE_VALUES = 1_000
_INLINE_YAML = 2_048


def _form(text: str, limits: BodyLimits) -> dict[str, Any]:
    try:
        pairs = parse_qsl(text, keep_blank_values=True, max_num_fields=limits.max_fields)
    except ValueError:  # parse_qsl counts the separators before it splits anything
        raise limits.too_many("form fields") from None
    grouped: dict[str, list[str]] = {}
    for key, value in pairs:
        grouped.setdefault(key, []).append(value)
    return {key: values[0] if len(values) == 1 else values for key, values in grouped.items()}


def _json(content_type: str, text: str, limits: BodyLimits) -> tuple[str, Any]:
    try:
        data = json.loads(text)
    except RecursionError:
        raise limits.too_deep() from None
    except ValueError as exc:
        if content_type == "text/plain":
            return text, text  # salt-api: plain text that is not JSON stays text
        raise BadRequest(
            f"Invalid JSON document: {exc} (send JSON with Content-Type: application/json, "
            "or form fields)"
        ) from None
    check_tree(data, limits)
    return text, data


def parse(content_type: str, text: str, limits: BodyLimits) -> tuple[str, Any]:
    """``(raw body as salt-api reports it, data)`` for a non-empty body."""
    if content_type == _FORM:
        return "", _form(text, limits)  # salt-api keeps no raw body for form data
    if content_type in _YAML:
        data = load_yaml(text, limits)
        check_tree(data, limits)
        return text, data
    return _json(content_type, text, limits)


def _cost(content_type: str, text: str, limits: BodyLimits) -> int:
    """Values the body may hold (refused past ``max_fields``); YAML: its length."""
    if content_type == _FORM:
        fields = text.count("&") + 1
        if fields > limits.max_fields:
            raise limits.too_many("form fields")
        return fields
    if content_type in _YAML:
        return len(text) * _INLINE_VALUES // _INLINE_YAML
    values = text.count(",") + text.count("[") + text.count("{") + 1
    if values > limits.max_fields:
        raise limits.too_many("values (counting every ',', '[' and '{')")
    return values


class BodyReader:
    """Reads and parses bodies within ``limits``; owns the parser thread."""

    def __init__(self, limits: BodyLimits) -> None:
        self.limits = limits
        self._pool: ThreadPoolExecutor | None = None

    async def read(self, request: web.Request) -> tuple[str, Any]:
        """The body as ``(raw, data)``; ``("", None)`` when there is none."""
        limits = self.limits
        if request.content_length is not None and request.content_length > limits.max_body:
            raise self._too_large()
        try:
            async with asyncio.timeout(limits.body_timeout):
                raw = await request.read()
        except TimeoutError:
            raise RequestTimeout(
                f"the body did not arrive within {limits.body_timeout:g}s (api_body_timeout)"
            ) from None
        except web.HTTPRequestEntityTooLarge:  # a chunked body past client_max_size
            raise self._too_large() from None
        except (ConnectionError, ClientPayloadError, HttpProcessingError):
            raise BadRequest("the body was cut short") from None
        if not raw:
            return "", None
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise BadRequest("the body is not UTF-8 text") from None
        content_type = request.content_type
        if _cost(content_type, text, limits) <= _INLINE_VALUES:
            return parse(content_type, text, limits)
        return await self._in_thread(lambda: parse(content_type, text, limits))

    def _too_large(self) -> PayloadTooLarge:
        return PayloadTooLarge(
            f"the body is larger than {self.limits.max_body} bytes (api_max_body)"
        )

    async def _in_thread(self, work: Callable[[], tuple[str, Any]]) -> tuple[str, Any]:
        # One worker: parses queue up rather than compete for the GIL with the loop.
        if self._pool is None:
            self._pool = ThreadPoolExecutor(1, thread_name_prefix="saltsim-api-body")
        return await asyncio.get_running_loop().run_in_executor(self._pool, work)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
