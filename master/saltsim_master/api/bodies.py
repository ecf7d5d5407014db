"""Request bodies as salt-api reads them: JSON, form-encoded, YAML or plain text.

``read_body`` returns the raw text and the parsed data; a body that does not parse is a
``BadRequest`` (400) naming the problem, never a 500. Form fields that repeat (``-d
arg=a -d arg=b``) become a list, as in CherryPy.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

import yaml
from aiohttp import web

from saltsim_master.api.errors import BadRequest

__all__ = ["read_body"]

_FORM = "application/x-www-form-urlencoded"
_YAML = ("application/x-yaml", "text/yaml")


def _form(text: str) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for key, value in parse_qsl(text, keep_blank_values=True):
        if key in fields:
            old = fields[key]
            fields[key] = [*old, value] if isinstance(old, list) else [old, value]
        else:
            fields[key] = value
    return fields


def parse(content_type: str, text: str) -> tuple[str, Any]:
    """``(raw body as salt-api reports it, data)`` for a non-empty body."""
    if content_type == _FORM:
        return "", _form(text)  # salt-api keeps no raw body for form data
    if content_type in _YAML:
        try:
            return text, yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise BadRequest(f"Invalid YAML document: {exc}") from None
    try:
        return text, json.loads(text)
    except ValueError as exc:
        if content_type == "text/plain":
            return text, text  # salt-api: plain text that is not JSON stays text
        raise BadRequest(
            f"Invalid JSON document: {exc} (send JSON with Content-Type: application/json, "
            "or form fields)"
        ) from None


async def read_body(request: web.Request) -> tuple[str, Any]:
    """The body as ``(raw, data)``; ``("", None)`` when there is none."""
    raw = await request.read()
    if not raw:
        return "", None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("the body is not UTF-8 text") from None
    return parse(request.content_type, text)
