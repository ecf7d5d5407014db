"""Tag building and matching, in the spirit of ``salt.utils.event``.

``tagify`` joins non-empty parts with ``/``. Matchers take ``(event_tag,
search_tag)`` as Salt's do; an empty search tag matches every event.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Iterable
from functools import lru_cache

__all__ = ["MATCH_TYPES", "Matcher", "compile_matcher", "match_tag", "tagify"]

Matcher = Callable[[str], bool]
MATCH_TYPES = ("startswith", "endswith", "find", "regex", "fnmatch")


def tagify(suffix: str | Iterable[str] = "", prefix: str = "", base: str = "salt") -> str:
    """``tagify("change", "presence")`` → ``salt/presence/change``; lists are joined too."""
    parts = [base, prefix]
    if isinstance(suffix, str):
        parts.append(suffix)
    else:
        parts.extend(suffix)
    return "/".join(part for part in parts if part)


@lru_cache(maxsize=512)
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


@lru_cache(maxsize=1024)
def compile_matcher(search_tag: str = "", match_type: str | None = None) -> Matcher:
    """A predicate over event tags for one search tag and ``match_type``.

    ``ValueError`` for an unknown match type or an invalid regular expression, so
    a typo fails at subscription time, not silently at match time.
    """
    kind = match_type or "startswith"
    if kind not in MATCH_TYPES:
        raise ValueError(f"unknown match_type {kind!r}; use one of {', '.join(MATCH_TYPES)}")
    if not search_tag:
        return lambda tag: True
    if kind == "startswith":
        return lambda tag: tag.startswith(search_tag)
    if kind == "endswith":
        return lambda tag: tag.endswith(search_tag)
    if kind == "find":
        return lambda tag: search_tag in tag
    if kind == "regex":
        try:
            pattern = _regex(search_tag)
        except re.error as exc:
            raise ValueError(f"invalid regex tag {search_tag!r}: {exc}") from exc
        return lambda tag: pattern.match(tag) is not None
    translated = _regex(fnmatch.translate(search_tag))
    return lambda tag: translated.match(tag) is not None


def match_tag(event_tag: str, search_tag: str, match_type: str | None = None) -> bool:
    """One-off match; prefer ``compile_matcher`` in loops."""
    return compile_matcher(search_tag, match_type)(event_tag)
