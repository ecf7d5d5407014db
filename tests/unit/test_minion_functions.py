"""The minion's execution functions through their table, with a fake minion: no sockets.

Each registered function is called by its Salt name as a publication would call it; the
answers (return, retcode, success) are those the minion sends back in its ``_return``.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from saltsim_minion.functions import FUNCTIONS
from saltsim_minion.registry import FunctionContext, FunctionTable, Outcome, split_args

KWARG = {"__kwarg__": True}


class FakeMinion:
    """A ``FunctionContext`` that records the events it is asked to fire."""

    def __init__(self, minion_id: str = "web1", grains: dict[str, Any] | None = None) -> None:
        self._id = minion_id
        self._grains = grains if grains is not None else {"id": minion_id, "os": "Debian"}
        self.fired: list[tuple[str, dict[str, Any]]] = []
        self.accept = True

    @property
    def id(self) -> str:
        return self._id

    @property
    def grains(self) -> dict[str, Any]:
        return self._grains

    async def fire_master(self, data: dict[str, Any], tag: str) -> bool:
        self.fired.append((tag, data))
        return self.accept


def run(
    fun: str,
    *arg: Any,
    ctx: FunctionContext | None = None,
    pub: dict[str, Any] | None = None,
) -> tuple[Any, int, bool]:
    return asyncio.run(FUNCTIONS.execute(ctx or FakeMinion(), fun, list(arg), pub))


# Every registered function, with arguments and the answer a minion sends for them.
CALLS: list[tuple[str, list[Any], tuple[Any, int, bool]]] = [
    ("test.ping", [], (True, 0, True)),
    ("test.echo", ["hello"], ("hello", 0, True)),
    (
        "test.arg",
        [1, "two", {**KWARG, "three": 3}],
        ({"args": [1, "two"], "kwargs": {"three": 3}}, 0, True),
    ),
    ("test.sleep", [0], (True, 0, True)),
    ("test.retcode", [3], (True, 3, False)),
    ("grains.items", [], ({"id": "web1", "os": "Debian"}, 0, True)),
    ("grains.get", ["os"], ("Debian", 0, True)),
    ("cmd.run", ["hostname"], ("web1", 0, True)),
    ("event.send", ["my/tag", {**KWARG, "data": {"k": 1}}], (True, 0, True)),
]


def test_the_table_holds_salts_names() -> None:
    assert FUNCTIONS.names() == sorted(name for name, _, _ in CALLS)


@pytest.mark.parametrize(("fun", "arg", "answer"), CALLS, ids=[c[0] for c in CALLS])
def test_every_function_answers_through_the_table(
    fun: str, arg: list[Any], answer: tuple[Any, int, bool]
) -> None:
    assert run(fun, *arg) == answer


def test_an_unknown_function_is_not_available() -> None:
    assert run("x.y") == ("'x.y' is not available.", 254, False)


def test_wrong_arguments_and_errors_fail_the_job() -> None:
    value, retcode, success = run("test.echo")
    assert value.startswith("Passed invalid arguments to test.echo: ")
    assert (retcode, success) == (1, False)
    value, retcode, success = run("test.sleep", "not-a-number")
    assert value.startswith("An exception occurred in this function: ValueError(")
    assert (retcode, success) == (1, False)


def test_functions_taking_kwargs_see_the_publication_as_pub_keys() -> None:
    pub = {"jid": "20261202", "tgt": "*", "fun": "test.arg"}
    value, _, _ = run("test.arg", "a", pub=pub)
    assert value == {
        "args": ["a"],
        "kwargs": {"__pub_jid": "20261202", "__pub_tgt": "*", "__pub_fun": "test.arg"},
    }
    assert run("test.echo", "a", pub=pub) == ("a", 0, True)  # no **kwargs: none passed


def test_event_send_fires_the_data_with_the_pub_keys_folded_in() -> None:
    minion = FakeMinion()
    pub = {"jid": "1", "fun": "event.send"}
    assert run(
        "event.send", "a/b", {**KWARG, "data": {"x": 1, "__pub_jid": "mine"}}, ctx=minion, pub=pub
    )[0]
    assert minion.fired == [("a/b", {"__pub_jid": "mine", "__pub_fun": "event.send", "x": 1})]
    minion.accept = False
    assert run("event.send", "a/b", "text", ctx=minion) == (False, 0, True)
    assert minion.fired[-1] == ("a/b", {"data": "text"})


@pytest.mark.parametrize(
    ("cmd", "answer"),
    [
        ("echo hi there", ("hi there", 0, True)),
        ("false", ("", 1, False)),
        ("exit 3", ("", 3, False)),
        ("uname", ("Linux", 0, True)),
        ("", ("", 0, True)),
        ("rm -rf /", ("/bin/sh: 1: rm: not found", 127, False)),
        ("echo 'open", ("/bin/sh: 1: Syntax error: No closing quotation", 2, False)),
    ],
)
def test_cmd_run_is_a_pretend_shell(cmd: str, answer: tuple[Any, int, bool]) -> None:
    assert run("cmd.run", cmd) == answer


def test_grains_get_walks_nested_keys_with_a_default() -> None:
    minion = FakeMinion(grains={"ip": {"eth0": "10.0.0.5"}})
    assert run("grains.get", "ip:eth0", ctx=minion)[0] == "10.0.0.5"
    assert run("grains.get", "ip:eth1", "none", ctx=minion)[0] == "none"
    assert run("grains.get", "missing", ctx=minion)[0] == ""


def test_a_table_takes_each_name_once_and_runs_its_own_functions() -> None:
    table = FunctionTable()

    @table.register("demo.fail")
    async def fail(ctx: FunctionContext) -> Outcome:
        return Outcome(ctx.id, 5)

    with pytest.raises(ValueError, match=r"'demo\.fail' is registered twice"):
        table.register("demo.fail")(fail)
    assert "demo.fail" in table and "demo.fail" not in FUNCTIONS
    assert asyncio.run(table.execute(FakeMinion("m1"), "demo.fail", [])) == ("m1", 5, False)
    assert asyncio.run(table.execute(FakeMinion(), "test.ping", []))[2] is False


def test_keyword_arguments_come_as_a_trailing_kwarg_map() -> None:
    assert split_args([1, {**KWARG, "a": 2}]) == ([1], {"a": 2})
    assert split_args([1, {"a": 2}]) == ([1, {"a": 2}], {})
    assert split_args([]) == ([], {})
