"""Salt's command-line argument habits: ``key=value`` keyword words, YAML-typed values."""

from __future__ import annotations

import re
from typing import Any

import yaml

__all__ = ["KWARG", "parse_args", "yamlify"]

# A keyword argument word: ``name=value`` (the value may hold anything, newlines too).
KWARG = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)=(.*)$", re.S)


def yamlify(text: str) -> Any:
    """Salt's CLI argument typing: ``1`` is an int, ``true`` a bool, ``{a: 1}`` a dict."""
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    return text if value is None and text not in ("null", "~", "None") else value


def parse_args(words: list[str]) -> tuple[list[Any], dict[str, Any]]:
    """Positional and keyword arguments of a function call, as ``salt`` reads them."""
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    for word in words:
        match = KWARG.match(word)
        if match:
            kwargs[match.group(1)] = yamlify(match.group(2))
        else:
            args.append(yamlify(word))
    return args, kwargs
