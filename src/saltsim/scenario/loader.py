"""Loading scenario files: YAML with line numbers in, a typed ``Scenario`` out.

Every problem is a ``ScenarioError`` that reads ``file:line: problem``; unknown keys
anywhere are errors, never ignored.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from saltsim.scenario._backends import check_backend
from saltsim.scenario._cloud import parse_cloud_settings, parse_vms
from saltsim.scenario._differences import parse_differences
from saltsim.scenario._errors import ScenarioError
from saltsim.scenario._expect_reader import check_captures, parse_dialect, parse_expectations
from saltsim.scenario._parse import Reader
from saltsim.scenario._steps import parse_steps
from saltsim.scenario._yaml import YMap, load_located
from saltsim.scenario.expectations import Expectation, ExpectEachMinion
from saltsim.scenario.pattern import BUILTINS, Pattern
from saltsim.scenario.spec import (
    BACKENDS,
    AsyncCommand,
    Difference,
    Scenario,
    Settings,
    Step,
    check_cloud,
    check_each_minion,
    check_targets,
    impostor_problem,
    minion_id_problem,
    minion_names,
    vm_problem,
)

__all__ = ["load_scenario", "load_scenario_text", "parse_pattern"]

TOP_KEYS = ("name", "description", "settings", "steps", "expect", "differences")
SETTINGS_KEYS = ("backend", "dialect", "minions", "master", "minion", "impostors", "vms", "cloud")


def _minions(reader: Reader, value: Any, line: int) -> tuple[str, ...]:
    if isinstance(value, int) and not isinstance(value, bool):
        return minion_names(reader.count(value, line, "settings.minions"))
    items = reader.listing(value, line, "settings.minions (a list of ids or a number)")
    seen: set[str] = set()
    for index, name in enumerate(items):
        if problem := minion_id_problem(name):
            reader.fail(items.line_of(index), f"settings.minions: {problem}")
        if name in seen:
            reader.fail(items.line_of(index), f"settings.minions names {name!r} twice")
        seen.add(name)
    return tuple(items)


def _impostors(reader: Reader, value: Any, line: int) -> dict[str, str]:
    """``impostors: {HANDLE: ID}``: a minion process, named HANDLE in steps, claiming ID."""
    mapping = reader.mapping(value, line, "settings.impostors (a mapping of handle: id)")
    impostors: dict[str, str] = {}
    for handle, minion_id in mapping.items():
        where = mapping.line_of(handle)
        if problem := minion_id_problem(handle):
            reader.fail(where, f"settings.impostors handle: {problem.replace('minion id', 'name')}")
        if problem := minion_id_problem(minion_id):
            reader.fail(where, f"settings.impostors {handle}: {problem}")
        impostors[handle] = minion_id
    return impostors


def _options(reader: Reader, mapping: YMap, key: str) -> dict[str, Any]:
    options = reader.plain_mapping(
        mapping.get(key, YMap(0)), mapping.line_of(key), f"settings.{key}"
    )
    for name in options:
        if not isinstance(name, str):
            reader.fail(
                mapping.line_of(key), f"settings.{key}: option names must be strings: {name!r}"
            )
    return options


def _settings(reader: Reader, value: Any, line: int) -> Settings:
    mapping = reader.mapping(value, line, "settings")
    reader.only_keys(mapping, SETTINGS_KEYS, "settings")
    backend = mapping.get("backend", Settings.backend)
    if backend not in BACKENDS:
        reader.fail(mapping.line_of("backend"), f"settings.backend must be {' or '.join(BACKENDS)}")
    dialect = Settings.dialect
    if "dialect" in mapping:
        dialect = parse_dialect(
            reader, mapping["dialect"], mapping.line_of("dialect"), "settings.dialect"
        )
    minions: tuple[str, ...] = ()
    if "minions" in mapping:
        minions = _minions(reader, mapping["minions"], mapping.line_of("minions"))
    impostors: dict[str, str] = {}
    if "impostors" in mapping:
        impostors = _impostors(reader, mapping["impostors"], mapping.line_of("impostors"))
    settings = Settings(
        backend,
        dialect,
        minions,
        _options(reader, mapping, "master"),
        _options(reader, mapping, "minion"),
        impostors,
        parse_vms(reader, mapping["vms"], mapping.line_of("vms")) if "vms" in mapping else (),
        parse_cloud_settings(reader, mapping["cloud"], mapping.line_of("cloud"))
        if "cloud" in mapping
        else None,
    )
    if problem := impostor_problem(settings):
        clash = next(h for h in impostors if h in minions)
        reader.fail(mapping["impostors"].line_of(clash), problem)
    for vm in settings.vms:
        if problem := vm_problem(settings, vm):
            reader.fail(mapping.line_of("vms"), f"settings.vms: {problem}")
    return settings


def _check_waits(reader: Reader, steps: tuple[Step, ...]) -> None:
    """``wait`` patterns may capture for later ``wait`` patterns (the runner keeps those),
    and use the jid a ``cmd_async`` captured; ``${minions}`` is always known."""
    known: set[str] = set(BUILTINS)
    for step in steps:
        if isinstance(step.args, Pattern):
            for name in sorted(step.args.uses - known):
                reader.fail(
                    step.line,
                    f"${{{name}}} is not captured by an earlier wait or cmd_async step",
                )
            known |= set(step.args.captures)
        elif isinstance(step.args, AsyncCommand):
            known.add(step.args.jid)


def load_scenario_text(text: str, source: str = "<scenario>", name: str | None = None) -> Scenario:
    """Parse scenario YAML; ``source`` names it in errors, ``name`` is the default name."""
    reader = Reader(source)
    document = load_located(text, source)
    if document is None:
        reader.fail(1, "empty scenario; it needs at least steps:")
    top = reader.mapping(document, 1, "a scenario")
    reader.only_keys(top, TOP_KEYS, "the scenario")
    default_name = name or Path(source).stem
    scenario_name = reader.text(top.get("name", default_name), top.line_of("name"), "name")
    description = reader.text(
        top.get("description", ""), top.line_of("description"), "description", empty=True
    )
    raw_settings = top.get("settings", YMap(top.line))
    settings = _settings(reader, raw_settings, top.line_of("settings"))
    if "steps" not in top:
        reader.fail(top.line, "a scenario needs steps:")
    steps = parse_steps(reader, top["steps"], top.line_of("steps"))
    check_targets(source, settings, steps)
    check_backend(source, settings, steps)
    check_cloud(source, settings, steps, raw_settings.line_of("vms"))
    _check_waits(reader, steps)
    names = {step.name for step in steps if step.name is not None}
    expectations: tuple[Expectation, ...] = ()
    if "expect" in top:
        expectations = parse_expectations(reader, top["expect"], top.line_of("expect"), names)
    jids = [step.args.jid for step in steps if isinstance(step.args, AsyncCommand)]
    check_captures(reader, expectations, jids)
    check_each_minion(source, settings, expectations)
    for exp in expectations:
        if isinstance(exp, ExpectEachMinion) and not settings.judged:
            reader.fail(exp.line, "each_minion needs settings.minions or settings.vms")
    differences: tuple[Difference, ...] = ()
    if "differences" in top:
        differences = parse_differences(reader, top["differences"], top.line_of("differences"))
    file_backend = raw_settings.get("backend") if isinstance(raw_settings, YMap) else None
    return Scenario(
        scenario_name,
        description,
        source,
        settings,
        steps,
        expectations,
        differences,
        file_backend=file_backend,
    )


def parse_pattern(text: str, source: str = "<pattern>") -> Pattern:
    """One pattern from YAML text: ``salt/auth`` or ``{tag: salt/auth, data: {id: m1}}``."""
    reader = Reader(source)
    return reader.pattern(load_located(text, source), 1)


def load_scenario(path: str | Path) -> Scenario:
    """Load a scenario file; its name defaults to the file's stem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError(str(path), None, f"cannot read scenario file: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise ScenarioError(str(path), None, f"not UTF-8 text: {exc.reason}") from exc
    return load_scenario_text(text, str(path), path.stem)
