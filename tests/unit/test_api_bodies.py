"""Request bodies of the REST API: bounded, linear, no alias expansion (issue 12, item 2).

On the old code a form of 240,000 fields was parsed (in quadratic time) instead of
refused, a YAML alias bomb was expanded, and deep JSON nesting was a RecursionError
(a 500). Each refusal here is a ``BadRequest`` whose message names the limit.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from aiohttp.test_utils import make_mocked_request
from saltsim_master.api.bodies import BodyReader, parse
from saltsim_master.api.errors import BadRequest, PayloadTooLarge
from saltsim_master.api.limits import BodyLimits, check_tree
from saltsim_master.api.views import hook_headers
from saltsim_master.config import MasterConfig

FORM = "application/x-www-form-urlencoded"
LIMITS = BodyLimits()

# 9 levels of 9 aliases each: 9**9 (387 million) leaves when expanded
YAML_BOMB = "a0: &a0 [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]\n" for i in range(1, 10)
)


def refused(content_type: str, body: str, limits: BodyLimits = LIMITS) -> str:
    with pytest.raises(BadRequest) as caught:
        parse(content_type, body, limits)
    assert caught.value.status == 400
    return caught.value.message


def test_a_form_of_240000_fields_is_refused_not_parsed() -> None:
    message = refused(FORM, "&".join(["a"] * 240_000))
    assert "more than 10000 form fields" in message and "api_max_fields" in message


def test_form_fields_that_repeat_become_a_list_in_linear_time() -> None:
    body = "&".join(["arg=x"] * 9_000 + ["fun=test.arg", "tgt=*"])
    _raw, data = parse(FORM, body, LIMITS)
    assert data["arg"] == ["x"] * 9_000 and (data["fun"], data["tgt"]) == ("test.arg", "*")
    assert parse(FORM, "a=1&b=&a=2", LIMITS) == ("", {"a": ["1", "2"], "b": ""})


def test_yaml_aliases_are_refused_before_expansion() -> None:
    assert "aliases" in refused("application/x-yaml", YAML_BOMB)
    assert "aliases" in refused("text/yaml", "a: &x 1\nb: *x\n")


def test_yaml_within_limits_loads_with_dates_as_text() -> None:
    raw, data = parse("application/x-yaml", "- client: local\n  when: 2024-01-02\n", LIMITS)
    assert data == [{"client": "local", "when": "2024-01-02"}]
    assert raw.startswith("- client")


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ("[" * 70 + "]" * 70, "nests deeper than 64"),
        ("\n".join(f"k{i}: v" for i in range(20)), "more than 10 YAML nodes"),
        ("!!binary aGVsbG8=", "holds a bytes"),
        ("{[1, 2]: x}", "Invalid YAML"),
        ("a: [", "Invalid YAML"),
        ('"\\ud87e\\udfa1"', "lone surrogate"),
        ("\x00", "Invalid YAML"),  # PyYAML's reader refuses it as the loader is made
    ],
)
def test_yaml_past_a_limit_or_beyond_json_is_refused(body: str, words: str) -> None:
    limits = BodyLimits(max_fields=10) if "nodes" in words else LIMITS
    assert words in refused("application/x-yaml", body, limits)


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ("[" * 5_000 + "]" * 5_000, "nests deeper than 64"),  # json.loads: RecursionError
        ("[" * 200 + "]" * 200, "nests deeper than 64"),
        ("[" + ",".join(["1"] * 20_000) + "]", "more than 10000 values"),
        ("[18446744073709551616]", "64 bits"),
        ('{"a": [1, {"b": NaN}]', "Invalid JSON"),
        ('["\\ud87e"]', "lone surrogate"),  # found by the hostile tier: a 500 downstream
        ('{"\\udfa1": 1}', "lone surrogate"),
    ],
)
def test_json_past_a_limit_is_refused(body: str, words: str) -> None:
    assert words in refused("application/json", body)


def test_plain_text_that_is_not_json_stays_text() -> None:
    assert parse("text/plain", "hello, world", LIMITS) == ("hello, world", "hello, world")


def test_check_tree_accepts_json_shapes_and_refuses_others() -> None:
    check_tree({"a": [1, 2.5, None, True, "s", {"b": -(1 << 63)}]}, LIMITS)
    for bad in ({1: "x"}, {"a": b"x"}, [{1, 2}], [(1, 2)]):
        with pytest.raises(BadRequest):
            check_tree(bad, LIMITS)


def test_limits_come_from_the_master_config() -> None:
    config = MasterConfig(api_max_body=10, api_max_fields=2, api_max_depth=3)
    assert BodyLimits.of(config) == BodyLimits(10, 2, 3, 30.0)


def read(body: bytes, content_type: str, limits: BodyLimits = LIMITS) -> tuple[str, Any]:
    headers = {"Content-Type": content_type, "Content-Length": str(len(body))}
    request = make_mocked_request("POST", "/", headers=headers)

    async def body_bytes() -> bytes:
        return body

    request.read = body_bytes  # type: ignore[method-assign]
    reader = BodyReader(limits)
    try:
        return asyncio.run(reader.read(request))
    finally:
        reader.close()


def test_a_body_over_the_size_limit_is_refused_from_its_content_length() -> None:
    with pytest.raises(PayloadTooLarge) as caught:
        read(b"x" * 11, "application/json", BodyLimits(max_body=10))
    assert caught.value.status == 413 and "api_max_body" in caught.value.message


def test_large_bodies_parse_in_the_reader_thread_with_the_same_answer() -> None:
    big = {f"k{i}": i for i in range(5_000)}
    assert read(json.dumps(big).encode(), "application/json")[1] == big
    yaml_text = "".join(f"k{i}: {i}\n" for i in range(500))
    assert read(yaml_text.encode(), "application/x-yaml")[1] == {f"k{i}": i for i in range(500)}
    with pytest.raises(BadRequest, match="aliases"):
        read((YAML_BOMB * 20).encode(), "application/x-yaml")
    with pytest.raises(BadRequest, match="not UTF-8"):
        read(b"\xff\xfe{}", "application/json")


def test_hook_events_carry_no_credentials_of_the_caller() -> None:
    headers = {
        "X-Auth-Token": "t",
        "Cookie": "session_id=t",
        "Authorization": "Basic eDp5",
        "Proxy-Authorization": "Basic eDp5",
        "X-Secret": "kept",
        "Content-Type": "application/json",
    }
    request = make_mocked_request("POST", "/hook/x", headers=headers)
    assert hook_headers(request) == {"X-Secret": "kept", "Content-Type": "application/json"}
