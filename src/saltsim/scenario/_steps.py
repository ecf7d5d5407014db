"""Reading the ``steps:`` list into ``Step`` values (the runner executes them)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from saltsim.scenario._cloud import parse_cloud_step
from saltsim.scenario._parse import Reader, describe_type
from saltsim.scenario._yaml import YList, YMap, plain
from saltsim.scenario.pattern import BUILTINS
from saltsim.scenario.spec import (
    ALL,
    KEY_ACTIONS,
    KEY_STATES,
    STEP_KINDS,
    AsyncCommand,
    Command,
    Fire,
    KeyAction,
    KeyListing,
    Returns,
    RunnerCall,
    Step,
    Targets,
    minion_id_problem,
)
from saltsim.targeting import TGT_TYPES

__all__ = ["parse_steps"]

STEP_SIBLINGS = ("name", "timeout")
_CAPTURE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_CMD_KEYS = ("tgt", "fun", "arg", "kwarg", "tgt_type")


def _targets(reader: Reader, value: Any, line: int, what: str) -> Targets:
    if value == ALL:
        return "all"
    names = value if isinstance(value, list) else [value]
    if not names:
        reader.fail(line, f"{what} needs 'all', a minion id or a list of minion ids")
    for name in names:
        if problem := minion_id_problem(name):
            reader.fail(line, f"{what}: {problem}")
    return tuple(names)


def _key(reader: Reader, value: Any, line: int) -> KeyAction:
    mapping = reader.mapping(value, line, "key")
    reader.only_keys(mapping, KEY_ACTIONS, "key")
    if len(mapping) != 1:
        reader.fail(line, f"key needs exactly one of {', '.join(KEY_ACTIONS)}")
    ((action, targets),) = mapping.items()
    return KeyAction(action, _targets(reader, targets, mapping.line_of(action), f"key {action}"))


def _keys(reader: Reader, value: Any, line: int) -> KeyListing:
    mapping = reader.mapping(value, line, "keys")
    reader.only_keys(mapping, KEY_STATES, "keys")
    if not mapping:
        reader.fail(line, f"keys needs at least one of {', '.join(KEY_STATES)}")
    states: dict[str, tuple[str, ...]] = {}
    for state in mapping:
        ids = reader.listing(mapping[state], mapping.line_of(state), f"keys {state}")
        for minion_id in ids:
            if problem := minion_id_problem(minion_id):
                reader.fail(mapping.line_of(state), f"keys {state}: {problem}")
        states[state] = tuple(ids)
    return KeyListing(states)


def _arguments(reader: Reader, mapping: YMap, what: str) -> tuple[tuple[Any, ...], dict[str, Any]]:
    arg = plain(reader.listing(mapping.get("arg", YList(0)), mapping.line_of("arg"), f"{what} arg"))
    kwarg = reader.plain_mapping(mapping.get("kwarg", YMap(0)), mapping.line_of("kwarg"), "kwarg")
    for key in kwarg:
        if not isinstance(key, str):
            reader.fail(mapping.line_of("kwarg"), f"{what} kwarg names must be strings: {key!r}")
    return tuple(arg), kwarg


def _cmd(reader: Reader, value: Any, line: int, kind: str = "cmd") -> Command:
    mapping = reader.mapping(value, line, kind)
    extra = ("jid",) if kind == "cmd_async" else ()
    reader.only_keys(mapping, (*_CMD_KEYS, *extra), kind)
    for required in ("tgt", "fun", *extra):
        if required not in mapping:
            reader.fail(line, f"{kind} needs {required}")
    raw_tgt = mapping["tgt"]
    tgt: str | tuple[str, ...]
    if isinstance(raw_tgt, list):
        tgt = tuple(reader.text(t, mapping.line_of("tgt"), "cmd tgt") for t in raw_tgt)
    else:
        tgt = reader.text(raw_tgt, mapping.line_of("tgt"), "cmd tgt")
    fun = reader.text(mapping["fun"], mapping.line_of("fun"), "cmd fun")
    tgt_type = mapping.get("tgt_type", "glob")
    if tgt_type not in TGT_TYPES:
        reader.fail(
            mapping.line_of("tgt_type"), f"cmd tgt_type must be one of {', '.join(TGT_TYPES)}"
        )
    arg, kwarg = _arguments(reader, mapping, "cmd")
    return Command(tgt, fun, arg, kwarg, tgt_type)


def _capture_name(reader: Reader, value: Any, line: int, what: str) -> str:
    name = reader.text(value, line, what)
    if not _CAPTURE_NAME.match(name):
        reader.fail(line, f"{what} must be a capture name (letters, digits, '_'), not {name!r}")
    if name in (*BUILTINS, "minion"):
        reader.fail(line, f"{what}: the name {name!r} is reserved")
    return name


def _cmd_async(reader: Reader, value: Any, line: int) -> AsyncCommand:
    """``cmd_async: {tgt, fun, ..., jid: NAME}``: as ``cmd``, and the jid captured as NAME."""
    command = _cmd(reader, value, line, "cmd_async")
    mapping = reader.mapping(value, line, "cmd_async")
    name = _capture_name(reader, mapping["jid"], mapping.line_of("jid"), "cmd_async jid")
    return AsyncCommand(command, name)


def _returns(reader: Reader, value: Any, line: int) -> Returns:
    """``returns: NAME`` or ``returns: {jid: NAME, from: all | ID | [IDS], except: IDS}``."""
    if isinstance(value, str):
        return Returns(_capture_name(reader, value, line, "returns"))
    mapping = reader.mapping(value, line, "returns (a jid name, or {jid: NAME, from: IDS})")
    reader.only_keys(mapping, ("jid", "from", "except"), "returns")
    if "jid" not in mapping:
        reader.fail(line, "returns needs jid: the name a cmd_async step captured")
    name = _capture_name(reader, mapping["jid"], mapping.line_of("jid"), "returns jid")
    sources = None
    if "from" in mapping:
        sources = _targets(reader, mapping["from"], mapping.line_of("from"), "returns from")
    excluded: tuple[str, ...] = ()
    if "except" in mapping:
        where = mapping.line_of("except")
        named = _targets(reader, mapping["except"], where, "returns except")
        if named == ALL:
            reader.fail(where, "returns except: 'all' leaves nothing to wait for")
        excluded = tuple(named)
    return Returns(name, sources, excluded)


def _run(reader: Reader, value: Any, line: int) -> RunnerCall:
    mapping = reader.mapping(value, line, "run")
    reader.only_keys(mapping, ("fun", "arg", "kwarg"), "run")
    if "fun" not in mapping:
        reader.fail(line, "run needs fun (e.g. manage.up)")
    arg, kwarg = _arguments(reader, mapping, "run")
    return RunnerCall(reader.text(mapping["fun"], mapping.line_of("fun"), "run fun"), arg, kwarg)


def _fire(reader: Reader, value: Any, line: int) -> Fire:
    mapping = reader.mapping(value, line, "fire")
    reader.only_keys(mapping, ("tag", "data", "count"), "fire")
    tag = reader.text(mapping.get("tag"), mapping.line_of("tag"), "fire tag")
    if "\n\n" in tag:
        reader.fail(mapping.line_of("tag"), "fire tag cannot contain a blank line")
    return Fire(
        tag,
        reader.plain_mapping(mapping.get("data", YMap(0)), mapping.line_of("data"), "fire data"),
        reader.count(mapping.get("count", 1), mapping.line_of("count"), "fire count", minimum=1),
    )


def _restart(reader: Reader, value: Any, line: int) -> bool:
    if value is not True:
        reader.fail(line, f"restart_master takes true, not {describe_type(value)}")
    return True


_ARGS: dict[str, Callable[[Reader, Any, int], Any]] = {
    "restart_master": _restart,
    "wait": lambda reader, value, line: reader.pattern(value, line, "wait pattern"),
    "key": _key,
    "keys": _keys,
    "cmd": _cmd,
    "cmd_async": _cmd_async,
    "returns": _returns,
    "run": _run,
    "fire": _fire,
    "ticks": lambda reader, value, line: reader.count(value, line, "ticks", minimum=1),
    "cloud": parse_cloud_step,
}


def _step(reader: Reader, item: Any, line: int, number: int) -> Step:
    mapping = reader.mapping(item, line, f"step {number}")
    kinds = [key for key in mapping if key not in STEP_SIBLINGS]
    for kind in kinds:
        if kind not in STEP_KINDS:
            known = ", ".join(STEP_KINDS)
            reader.fail(mapping.key_line(kind), f"unknown step kind {kind!r}; known: {known}")
    if not kinds:
        reader.fail(mapping.line, f"step {number} has no kind; known: {', '.join(STEP_KINDS)}")
    if len(kinds) > 1:
        reader.fail(
            mapping.key_line(kinds[1]),
            f"step {number} has two kinds, {kinds[0]!r} and {kinds[1]!r}; one per step",
        )
    kind = kinds[0]
    value, value_line = mapping[kind], mapping.line_of(kind)
    if kind in _ARGS:
        args = _ARGS[kind](reader, value, value_line)
    else:
        args = _targets(reader, value, value_line, f"step {kind!r}")
    name = None
    if "name" in mapping:
        name = reader.text(mapping["name"], mapping.line_of("name"), "step name")
    timeout = None
    if "timeout" in mapping:
        timeout = reader.number(mapping["timeout"], mapping.line_of("timeout"), "timeout")
    return Step(kind, args, name, timeout, mapping.line)


def _check_jids(reader: Reader, step: Step, jids: set[str]) -> None:
    """A ``returns`` step names a jid an earlier ``cmd_async`` captured."""
    if isinstance(step.args, Returns) and step.args.jid not in jids:
        known = ", ".join(sorted(jids)) or "none yet"
        reader.fail(
            step.line,
            f"returns: no earlier cmd_async step captures jid {step.args.jid!r} (known: {known})",
        )
    if isinstance(step.args, AsyncCommand):
        jids.add(step.args.jid)


def parse_steps(reader: Reader, value: Any, line: int) -> tuple[Step, ...]:
    items = reader.listing(value, line, "steps")
    steps: list[Step] = []
    seen: dict[str, int] = {}
    jids: set[str] = set()
    for index, item in enumerate(items):
        step = _step(reader, item, items.line_of(index), index + 1)
        _check_jids(reader, step, jids)
        if step.name is not None:
            if step.name in seen:
                reader.fail(
                    step.line,
                    f"step name {step.name!r} is used twice (first at line {seen[step.name]})",
                )
            seen[step.name] = step.line
        steps.append(step)
    return tuple(steps)
