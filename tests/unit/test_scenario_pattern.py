"""Event patterns: tag globs and match types, data subsets, ``<any>``, captures, ``${name}``."""

from __future__ import annotations

from typing import Any

import pytest
from test_scenario_support import ev

from saltsim.scenario import ANY, Pattern, ScenarioError, parse_pattern
from saltsim.scenario import parse_pattern as pattern

RET = ev(
    "salt/job/20261123234804419827/ret/m1",
    7,
    id="m1",
    jid="20261123234804419827",
    success=True,
    retcode=0,
    ret={"a": {"b": [1, 2]}},
    fun_args=["x", 1],
)


@pytest.mark.parametrize(
    ("text", "matches"),
    [
        ("salt/job/*/ret/m1", True),  # a glob over the whole tag; * crosses /
        ("salt/job/*", True),
        ("salt/job", False),  # not a prefix match by default
        ("'*/ret/m?'", True),
        ("'salt/job/[0-9]*/ret/m[12]'", True),
        ("{tag: salt/job, match: startswith}", True),
        ("{tag: /ret/m1, match: endswith}", True),
        ("{tag: ret, match: find}", True),
        ("{tag: 'salt/job/\\d+/ret/', match: regex}", True),  # anchored at the start only
        ("{tag: 'job/\\d+', match: regex}", False),
    ],
)
def test_tag_matching(text: str, matches: bool) -> None:
    assert (pattern(text).match(RET) is not None) is matches


@pytest.mark.parametrize(
    ("data", "matches"),
    [
        ("{id: m1}", True),
        ("{id: m2}", False),
        ("{id: 'm*'}", True),  # strings with * ? [ are globs
        ("{id: 'm[!1]'}", False),
        ("{retcode: '*'}", False),  # a glob matches strings only
        ("{retcode: '<any>', success: '<any>', ret: '<any>'}", True),
        ("{nothere: '<any>'}", False),  # <any> still needs the key
        ("{retcode: 0, success: true}", True),
        ("{retcode: false}", False),  # a boolean never equals a number
        ("{success: 1}", False),
        ("{ret: {a: {b: [1, 2]}}}", True),  # nested mappings are subsets too
        ("{ret: {a: {}}}", True),
        ("{ret: {a: {b: [1]}}}", False),  # lists: element-wise, same length
        ("{ret: {a: {b: [2, 1]}}}", False),
        ("{fun_args: ['x', '<any>']}", True),
        ("{fun_args: '<any>'}", True),
        ("{_seq: 7}", True),  # private keys can be matched explicitly
        ("{_stamp: '*+00:00'}", True),
    ],
)
def test_data_is_a_subset_match(data: str, matches: bool) -> None:
    assert (pattern(f"{{tag: '*', data: {data}}}").match(RET) is not None) is matches


def test_exact_demands_every_key_and_still_allows_any_and_globs() -> None:
    full = "{id: m1, jid: '<any>', success: true, retcode: 0, ret: '<any>', fun_args: '<any>'}"
    assert pattern(f"{{tag: '*', exact: true, data: {full}}}").match(RET) is not None
    short = pattern("{tag: '*', exact: true, data: {id: m1}}")
    assert short.match(RET) is None
    assert (
        short.explain(RET) == "data: unexpected keys jid, success, retcode, ret, fun_args (exact)"
    )
    assert pattern("{tag: '*', exact: true}").match(ev("a", 1)) == {}
    # Exact at every depth: nested mappings may not have extra keys either.
    nested = "{id: m1, jid: '<any>', success: true, retcode: 0, fun_args: '<any>', ret: {a: {}}}"
    deep = pattern(f"{{tag: '*', exact: true, data: {nested}}}")
    assert deep.explain(RET) == "data.ret.a: unexpected keys b (exact)"
    assert pattern(f"{{tag: '*', data: {nested}}}").match(RET) == {}


def test_explain_names_the_first_difference() -> None:
    p = pattern("{tag: '*', data: {ret: {a: {b: [1, 3]}}}}")
    assert p.explain(RET) == "data.ret.a.b[1]: expected 3, got 2"
    assert pattern("{tag: x}").explain(RET) == (
        "tag salt/job/20261123234804419827/ret/m1 does not match x"
    )
    assert pattern("{tag: '*', data: {nope: 1}}").explain(RET) == "data.nope: missing"
    assert pattern("{tag: '*', data: {id: m1}}").explain(RET) is None


def test_saltsim_events_are_seen_only_by_saltsim_patterns() -> None:
    own = ev("saltsim/listener/ready/abc", 3)
    assert Pattern("*").match(own) is None
    assert Pattern("saltsim/*").match(own) == {}
    assert Pattern("saltsim/", match_type="startswith").match(own) == {}
    assert Pattern("*").explain(own) == "saltsim/listener/ready/abc is saltsim's own event"


def test_captures_take_dotted_paths_list_indexes_and_tag_segments() -> None:
    p = pattern(
        "{tag: 'salt/job/*/ret/*', capture: {jid: jid, b: ret.a.b, first: fun_args.0, "
        "tag: '@tag', who: '@tag.-1', seq: _seq}}"
    )
    assert p.match(RET) == {
        "jid": "20261123234804419827",
        "b": [1, 2],
        "first": "x",
        "tag": RET.tag,
        "who": "m1",
        "seq": 7,
    }
    missing = pattern("{tag: '*', capture: {x: ret.zzz}}")
    assert missing.match(RET) is None  # a capture must find its value
    assert missing.explain(RET) == "capture x: the event has no ret.zzz"


def test_references_substitute_captured_values_literally() -> None:
    captures: dict[str, Any] = {"jid": "20261123234804419827", "who": "m1", "n": 0, "star": "a*"}
    assert pattern("'salt/job/${jid}/ret/${who}'").match(RET, captures) == {}
    assert pattern("'salt/job/${jid}/ret/m2'").match(RET, captures) is None
    # A whole-value reference keeps the captured type; a partial one is text.
    assert pattern("{tag: '*', data: {retcode: '${n}'}}").match(RET, captures) == {}
    assert pattern("{tag: '*', data: {id: 'm${n}'}}").match(RET, {"n": 1}) == {}
    # Captured text is never a glob, even inside a glob.
    assert pattern("{tag: '*', data: {id: '${star}*'}}").match(RET, captures) is None
    assert pattern("{tag: '*', data: {id: '${star}*'}}").match(ev("t", 1, id="a*x"), captures) == {}
    # In regex tags, captured text is escaped too.
    assert Pattern("salt/job/${x}/", match_type="regex").match(RET, {"x": ".*"}) is None
    assert pattern("'x/${jid}'").missing({}) == ["jid"]


def test_wild_tag_matchers_treat_unknown_references_as_anything() -> None:
    for match_type, tag in [
        ("fnmatch", "salt/job/${jid}/ret/*"),
        ("startswith", "salt/job/${jid}/ret/"),
        ("endswith", "${jid}/ret/m1"),
        ("find", "job/${jid}/ret"),
        ("regex", "salt/job/${jid}/ret/m\\d"),
    ]:
        p = Pattern(tag, match_type=match_type)
        assert p.tag_matcher({}, wild=True)(RET.tag), match_type
        assert not p.tag_matcher({"jid": "1"}, wild=True)(RET.tag), match_type
        with pytest.raises(KeyError):
            p.tag_matcher({})


def test_describe_is_one_line_with_captures_filled_in() -> None:
    p = pattern("{tag: 'salt/job/${jid}/ret/*', data: {id: '${who}', n: [1, '<any>']}}")
    assert p.describe() == "salt/job/${jid}/ret/* {id: ${who}, n: [1, <any>]}"
    assert p.describe({"jid": "123", "who": "m1"}) == "salt/job/123/ret/* {id: m1, n: [1, <any>]}"
    assert len(p.describe(limit=20)) == 20
    assert Pattern("a/b", match_type="startswith").describe() == "a/b (startswith)"
    assert ANY == "<any>"


def test_parse_pattern_reads_one_yaml_pattern() -> None:
    assert parse_pattern("salt/auth") == Pattern("salt/auth", line=1)
    assert parse_pattern("{tag: a, data: {x: 1}}") == Pattern("a", data={"x": 1}, line=1)
    with pytest.raises(ScenarioError, match=r"^<pattern>:1: unknown key 'tga' in pattern"):
        parse_pattern("{tga: a}")
