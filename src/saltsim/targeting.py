"""Salt targeting, shared by the master (who is expected) and the minion (am I meant).

Forms: ``glob`` (default), ``list``, ``grain``, ``pcre`` and ``compound``
(``G@key:value``, ``L@a,b``, ``E@regex``, ``P@key:regex``, plain globs,
``and`` / ``or`` / ``not`` and parentheses), parsed here without ``eval``.
"""

from __future__ import annotations

import fnmatch
import functools
import re
from collections.abc import Mapping
from typing import Any

__all__ = ["TGT_TYPES", "TargetError", "check_target", "match_target"]

TGT_TYPES = ("glob", "list", "grain", "pcre", "grain_pcre", "compound")


class TargetError(ValueError):
    """A target expression that cannot be parsed."""


@functools.lru_cache(maxsize=256)
def _regex(pattern: str) -> re.Pattern[str]:
    """A compiled pcre target; ``TargetError`` (not ``re.error``) for one that is invalid."""
    try:
        return re.compile(pattern)
    except (re.error, RecursionError, OverflowError) as exc:
        raise TargetError(f"invalid regular expression {pattern!r}: {exc}") from exc


def _grain_values(grains: Mapping[str, Any], path: str) -> list[Any]:
    node: Any = grains
    for part in path.split(":"):
        if not isinstance(node, Mapping) or part not in node:
            return []
        node = node[part]
    return node if isinstance(node, list) else [node]


def _grain(grains: Mapping[str, Any], expr: str, regex: bool) -> bool:
    if ":" not in expr:
        raise TargetError(f"grain target needs key:value, got {expr!r}")
    path, _, pattern = expr.rpartition(":")
    compiled = _regex(pattern) if regex else None  # checked even when no grain is there
    for value in _grain_values(grains, path):
        text = str(value)
        if compiled is not None and compiled.match(text):
            return True
        if compiled is None and fnmatch.fnmatch(text, pattern):
            return True
    return False


def _as_list(tgt: str | list[str]) -> list[str]:
    return [t.strip() for t in tgt.split(",")] if isinstance(tgt, str) else list(tgt)


def match_target(
    tgt: str | list[str], tgt_type: str, minion_id: str, grains: Mapping[str, Any]
) -> bool:
    """Does ``minion_id`` (with ``grains``) fall under ``tgt``?"""
    if tgt_type == "glob":
        return isinstance(tgt, str) and fnmatch.fnmatchcase(minion_id, tgt)
    if tgt_type == "list":
        return minion_id in _as_list(tgt)
    if tgt_type == "pcre":
        return isinstance(tgt, str) and _regex(tgt).match(minion_id) is not None
    if tgt_type in ("grain", "grain_pcre"):
        return isinstance(tgt, str) and _grain(grains, tgt, tgt_type == "grain_pcre")
    if tgt_type == "compound":
        if not isinstance(tgt, str):
            raise TargetError("a compound target is a string")
        return _Compound(tgt, minion_id, grains).evaluate()
    raise TargetError(f"unknown tgt_type {tgt_type!r}; use one of {', '.join(TGT_TYPES)}")


def check_target(tgt: Any, tgt_type: str) -> None:
    """``TargetError`` now for a target no minion could match because it is malformed (an
    invalid pcre, an unbalanced compound), even when no minion is there to try it on."""
    if tgt_type != "list":
        match_target(tgt, tgt_type, "", {})


class _Compound:
    """Recursive descent over ``or`` > ``and`` > ``not`` > term."""

    def __init__(self, expr: str, minion_id: str, grains: Mapping[str, Any]) -> None:
        self.tokens = expr.replace("(", " ( ").replace(")", " ) ").split()
        if not self.tokens:
            raise TargetError("empty compound target")
        self.pos = 0
        self.minion_id, self.grains = minion_id, grains

    def evaluate(self) -> bool:
        result = self._or()
        if self.pos != len(self.tokens):
            raise TargetError(f"unexpected {self.tokens[self.pos]!r} in compound target")
        return result

    def _peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def _or(self) -> bool:
        result = self._and()
        while self._peek() == "or":
            self.pos += 1
            right = self._and()
            result = result or right
        return result

    def _and(self) -> bool:
        result = self._not()
        while self._peek() == "and":
            self.pos += 1
            right = self._not()
            result = result and right
        return result

    def _not(self) -> bool:
        if self._peek() == "not":
            self.pos += 1
            return not self._not()
        return self._term()

    def _term(self) -> bool:
        token = self._peek()
        if token is None or token in ("and", "or", ")"):
            raise TargetError(f"compound target ends or breaks early at {token!r}")
        self.pos += 1
        if token == "(":
            result = self._or()
            if self._peek() != ")":
                raise TargetError("unbalanced parenthesis in compound target")
            self.pos += 1
            return result
        kinds = {"G@": "grain", "P@": "grain_pcre", "L@": "list", "E@": "pcre"}
        kind = kinds.get(token[:2])
        if kind is not None:
            return match_target(token[2:], kind, self.minion_id, self.grains)
        if len(token) > 1 and token[1] == "@":
            raise TargetError(f"unsupported compound matcher {token[:2]!r}")
        return fnmatch.fnmatchcase(self.minion_id, token)
