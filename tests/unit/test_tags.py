"""Tag building and matching (docs/EVENTS.md, "Every event").

Each matcher is checked against a plain reference written here without ``str``'s search
methods or ``fnmatch``, so a wrong operator or anchoring in ``saltsim.tags`` shows up.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from saltsim.tags import MATCH_TYPES, compile_matcher, match_tag, tagify

# -- tagify --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "kwargs", "expected"),
    [
        (
            (["20261123234804419827", "ret", "m1"], "job"),
            {},
            "salt/job/20261123234804419827/ret/m1",
        ),
        (("change", "presence"), {}, "salt/presence/change"),
        (("present", "presence"), {}, "salt/presence/present"),
        (("m1", "refresh"), {"base": "minion"}, "minion/refresh/m1"),
        (("m1", "refresh"), {"base": "resource"}, "resource/refresh/m1"),
        (("", "presence"), {}, "salt/presence"),
        ((["a", "", "b"], ""), {}, "salt/a/b"),
        (("key",), {"base": ""}, "key"),
        ((), {}, "salt"),
        ((), {"base": ""}, ""),
        (((part for part in ["x", "y"]), "run"), {}, "salt/run/x/y"),
    ],
)
def test_tagify_examples(args: tuple[object, ...], kwargs: dict[str, str], expected: str) -> None:
    assert tagify(*args, **kwargs) == expected  # type: ignore[arg-type]


_parts = st.text(st.sampled_from("ab1_-."), max_size=4)


@given(base=_parts, prefix=_parts, suffix=st.lists(_parts, max_size=5))
def test_tagify_joins_exactly_the_non_empty_parts(
    base: str, prefix: str, suffix: list[str]
) -> None:
    tag = tagify(suffix, prefix, base=base)
    expected = [part for part in [base, prefix, *suffix] if part]
    assert (tag.split("/") if tag else []) == expected


# -- reference matchers --------------------------------------------------------------------


def ref_startswith(tag: str, search: str) -> bool:
    return len(search) <= len(tag) and all(tag[i] == c for i, c in enumerate(search))


def ref_endswith(tag: str, search: str) -> bool:
    offset = len(tag) - len(search)
    return offset >= 0 and all(tag[offset + i] == c for i, c in enumerate(search))


def ref_find(tag: str, search: str) -> bool:
    return any(ref_startswith(tag[i:], search) for i in range(len(tag) - len(search) + 1))


def ref_regex(tag: str, search: str) -> bool:
    # Anchored at the start only: some prefix of the tag matches the whole pattern.
    return any(re.fullmatch(search, tag[:end]) for end in range(len(tag) + 1))


def ref_fnmatch(tag: str, pattern: str) -> bool:
    """Whole-tag glob with ``*`` and ``?`` (what the strategies below generate)."""
    # match[i][j]: pattern[:i] matches tag[:j]
    match = [[False] * (len(tag) + 1) for _ in range(len(pattern) + 1)]
    match[0][0] = True
    for i, p in enumerate(pattern, 1):
        for j in range(len(tag) + 1):
            if p == "*":
                match[i][j] = match[i - 1][j] or (j > 0 and match[i][j - 1])
            elif j > 0:
                match[i][j] = match[i - 1][j - 1] and (p == "?" or p == tag[j - 1])
    return match[-1][-1]


REFERENCES: dict[str, Callable[[str, str], bool]] = {
    "startswith": ref_startswith,
    "endswith": ref_endswith,
    "find": ref_find,
    "regex": ref_regex,
    "fnmatch": ref_fnmatch,
}

# A small alphabet so that searches hit often; "\n" checks that "." and "*" agree with Salt.
_alphabet = st.sampled_from("ab/\n")
_tags = st.text(_alphabet, max_size=12)
_searches = st.text(_alphabet, min_size=1, max_size=4)
_globs = st.text(st.sampled_from("ab/*?"), min_size=1, max_size=6)
_fragments = st.one_of(
    _searches.map(re.escape),
    st.sampled_from([".", ".*", "[ab]", "a+", "b?", "(a|/)", "[^/]*", "\\d"]),
)
_regexes = st.lists(_fragments, min_size=1, max_size=4).map("".join)


def _check(tag: str, search: str, match_type: str) -> None:
    expected = REFERENCES[match_type](tag, search)
    assert compile_matcher(search, match_type)(tag) is expected, (tag, search, match_type)
    assert match_tag(tag, search, match_type) is expected


@settings(max_examples=200)
@given(tag=_tags, search=_searches, match_type=st.sampled_from(["startswith", "endswith", "find"]))
def test_string_matchers_agree_with_reference(tag: str, search: str, match_type: str) -> None:
    _check(tag, search, match_type)


@settings(max_examples=200)
@given(tag=_tags, pattern=_regexes)
def test_regex_matcher_is_anchored_at_start_only(tag: str, pattern: str) -> None:
    _check(tag, pattern, "regex")


@settings(max_examples=200)
@given(tag=_tags, pattern=_globs)
def test_fnmatch_matcher_agrees_with_reference(tag: str, pattern: str) -> None:
    _check(tag, pattern, "fnmatch")


@given(tag=_tags, search=_searches)
def test_default_match_type_is_startswith(tag: str, search: str) -> None:
    expected = ref_startswith(tag, search)
    assert compile_matcher(search)(tag) is expected
    assert compile_matcher(search, None)(tag) is expected
    assert match_tag(tag, search) is expected


@pytest.mark.parametrize(
    ("tag", "search", "match_type", "expected"),
    [
        ("salt/job/1/new", "salt/job/", "startswith", True),
        ("salt/job/1/new", "job", "startswith", False),
        ("salt/job/1/new", "/new", "endswith", True),
        ("salt/job/1/new", "salt", "endswith", False),
        ("salt/job/1/ret/m1", "/ret/", "find", True),
        ("salt/job/1/ret/m1", "/run/", "find", False),
        ("salt/job/1/new", "salt/job/\\d+/new", "regex", True),
        ("salt/job/1/new", "salt/job", "regex", True),
        ("salt/job/1/new", "job", "regex", False),
        ("salt/job/1/ret/m1", "salt/job/*/ret/*", "fnmatch", True),
        ("salt/job/1/new", "salt/job", "fnmatch", False),
        ("salt/job/1/new", "SALT/*", "fnmatch", False),
        ("salt/job/1/new", "salt/job/[0-9]/new", "fnmatch", True),
        ("salt/presence/change", "salt/presence/[!c]*", "fnmatch", False),
    ],
)
def test_salt_style_examples(tag: str, search: str, match_type: str, expected: bool) -> None:
    assert match_tag(tag, search, match_type) is expected


@pytest.mark.parametrize("match_type", [*MATCH_TYPES, None])
@given(tag=st.text(max_size=20))
def test_empty_search_tag_matches_everything(tag: str, match_type: str | None) -> None:
    assert compile_matcher("", match_type)(tag) is True
    assert match_tag(tag, "", match_type) is True


def test_match_types_are_the_five_salt_knows() -> None:
    assert set(MATCH_TYPES) == {"startswith", "endswith", "find", "regex", "fnmatch"}


@pytest.mark.parametrize("search", ["", "salt/"])
@pytest.mark.parametrize("match_type", ["glob", "Regex", "prefix", "pcre"])
def test_unknown_match_type_raises_value_error(search: str, match_type: str) -> None:
    with pytest.raises(ValueError, match="unknown match_type"):
        compile_matcher(search, match_type)
    with pytest.raises(ValueError):
        match_tag("salt/x", search, match_type)


@pytest.mark.parametrize("pattern", ["(", "salt/[", "*salt", "a{2,1}", "(?P<x"])
def test_invalid_regex_raises_value_error_at_compile_time(pattern: str) -> None:
    with pytest.raises(ValueError, match="invalid regex"):
        compile_matcher(pattern, "regex")
