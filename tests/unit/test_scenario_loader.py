"""The scenario loader: typed values out, and ``file:line: problem`` for every mistake."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from test_scenario_support import PRESENCE

from saltsim.errors import SaltsimError
from saltsim.scenario import (
    ALL,
    CloudCreate,
    CloudDestroy,
    CloudFault,
    CloudSettings,
    Command,
    ExpectCount,
    ExpectEachMinion,
    ExpectNever,
    ExpectOrder,
    ExpectWithin,
    Fire,
    KeyAction,
    KeyListing,
    Pattern,
    RunnerCall,
    ScenarioError,
    load_scenario,
    load_scenario_text,
)

GOOD = """\
name: demo
description: every step kind once
settings:
  backend: docker
  dialect: "3006"
  minions: [m1, m2, m3]
  master: {presence_events: true, loop_interval: 1}
  minion: {heartbeat_interval: 0.5}
steps:
  - start: all
  - stop: m1
  - kill: [m2, m3]
    name: kill-two
  - pause: m1
  - unpause: m1
  - disconnect: m1
  - reconnect: m1
  - restart_master: true
  - wait: salt/presence/present
    timeout: 20
  - key: {accept: m1}
  - key: {delete: all}
  - cmd: {tgt: "*", fun: test.arg, arg: [1, a], kwarg: {k: v}, tgt_type: glob}
  - cmd: {tgt: [m1, m2], fun: test.ping, tgt_type: list}
  - run: {fun: manage.up}
  - fire: {tag: my/tag, data: {x: 1}}
  - ticks: 2
    name: end
expect:
  - order: [salt/auth, {tag: "salt/minion/*/start", data: {id: m1}}]
  - count: {pattern: salt/auth, min: 1}
  - count: {pattern: salt/auth, exactly: 2}
  - never: salt/presence/change
    between: [kill-two, end]
  - within: {after: kill-two, seconds: 5, pattern: salt/presence/change}
  - dialect: 3008
    each_minion: {order: ["salt/minion/${minion}/start"]}
"""


def load(text: str) -> object:
    return load_scenario_text(textwrap.dedent(text), "x.yaml")


def error(text: str) -> str:
    with pytest.raises(ScenarioError) as info:
        load_scenario_text(textwrap.dedent(text), "x.yaml")
    return str(info.value)


def test_every_step_kind_loads_into_typed_values() -> None:
    scenario = load_scenario_text(GOOD, "demo.yaml")
    assert scenario.name == "demo"
    assert scenario.settings.backend == "docker"
    assert scenario.settings.dialect == "3006"
    assert scenario.settings.minions == ("m1", "m2", "m3")
    assert scenario.settings.master == {"presence_events": True, "loop_interval": 1}
    assert scenario.settings.minion == {"heartbeat_interval": 0.5}
    steps = {step.line: step for step in scenario.steps}
    assert steps[10].kind == "start" and steps[10].args == ALL
    assert steps[12].args == ("m2", "m3") and steps[12].name == "kill-two"
    assert steps[18].args is True
    assert steps[19].args == Pattern(tag="salt/presence/present", line=19)
    assert steps[19].timeout == 20.0
    assert steps[21].args == KeyAction("accept", ("m1",))
    assert steps[22].args == KeyAction("delete", "all")
    assert steps[23].args == Command("*", "test.arg", (1, "a"), {"k": "v"}, "glob")
    assert steps[24].args == Command(("m1", "m2"), "test.ping", (), {}, "list")
    assert steps[25].args == RunnerCall("manage.up")
    assert steps[26].args == Fire("my/tag", {"x": 1})
    assert steps[27].args == 2 and steps[27].name == "end"
    assert scenario.settings.resolve(steps[10].args) == ("m1", "m2", "m3")


def test_expectations_are_typed_and_keep_their_lines() -> None:
    exps = load_scenario_text(GOOD, "demo.yaml").expectations
    assert [type(e) for e in exps] == [
        ExpectOrder,
        ExpectCount,
        ExpectCount,
        ExpectNever,
        ExpectWithin,
        ExpectEachMinion,
    ]
    assert [e.line for e in exps] == [30, 31, 32, 33, 35, 36]
    order = exps[0]
    assert isinstance(order, ExpectOrder)
    assert order.patterns[1] == Pattern("salt/minion/*/start", data={"id": "m1"}, line=30)
    count = exps[2]
    assert isinstance(count, ExpectCount) and (count.min, count.max) == (2, 2)
    never = exps[3]
    assert isinstance(never, ExpectNever) and never.between == ("kill-two", "end")
    each = exps[5]
    assert isinstance(each, ExpectEachMinion) and each.dialect == "3008"
    assert isinstance(each.inner, ExpectOrder)


def test_defaults_name_from_the_file_stem_and_minions_from_a_number(tmp_path: Path) -> None:
    path = tmp_path / "my-scenario.yaml"
    path.write_text("settings: {minions: 3}\nsteps: [{start: all}, {kill: minion-2}]\n")
    scenario = load_scenario(path)
    assert scenario.name == "my-scenario"
    assert scenario.source == str(path)
    assert scenario.settings.minions == ("minion-1", "minion-2", "minion-3")
    assert (scenario.settings.backend, scenario.settings.dialect) == ("local", "3008")
    assert scenario.expectations == ()


def test_a_fire_step_fires_once_unless_it_has_a_count() -> None:
    once = load_scenario_text("steps:\n  - fire: {tag: a}\n", "x.yaml").steps[0].args
    many = load_scenario_text("steps:\n  - fire: {tag: a, count: 300}\n", "x.yaml").steps[0]
    assert once == Fire("a", {}, 1) and many.args == Fire("a", {}, 300)


def test_a_keys_step_names_the_states_it_checks() -> None:
    text = "steps:\n  - keys: {accepted: [m1], pending: []}\n"
    listing = load_scenario_text(text, "x.yaml").steps[0].args
    assert listing == KeyListing({"accepted": ("m1",), "pending": ()})
    assert listing.problem({"accepted": ["m1"], "pending": [], "rejected": ["m2"]}) is None
    problem = listing.problem({"accepted": [], "pending": ["m1"]})
    assert problem is not None and "the step expects" in problem


def test_presence_scenario_loads() -> None:
    scenario = load_scenario(PRESENCE)
    assert scenario.name == "presence"
    assert scenario.settings.minions == ("m1", "m2", "m3")
    kinds = [step.kind for step in scenario.steps]
    assert kinds[:6] == ["start", "wait", "wait", "wait", "ticks", "kill"]
    assert {e.dialect for e in scenario.expectations} == {None, "3006", "3008"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "steps:\n  - start: all\n  - kil: m1\n",
            "x.yaml:3: unknown step kind 'kil'; known: start, stop, kill, pause, unpause, "
            "disconnect, reconnect, present, started, restart_master, wait, key, keys, cmd, "
            "cmd_async, returns, run, fire, ticks, cloud",
        ),
        (
            "settings:\n  minions: [m1]\n  dialect: '3007'\nsteps: []\n",
            'x.yaml:3: settings.dialect must be "3006" or "3008", not a string (\'3007\')',
        ),
        (
            "settings: {minions: [m1]}\nsteps:\n  - start: all\n  - kill: m9\n",
            "x.yaml:4: minion 'm9' in step 'kill' is not in settings.minions (m1)",
        ),
        (
            "steps: []\nexpect:\n  - order: salt/auth\n",
            "x.yaml:3: expectation 'order' needs a list of patterns",
        ),
        (
            "steps: []\nexpect:\n  - order: []\n",
            "x.yaml:3: expectation 'order' needs a list of patterns",
        ),
        (
            "steps: []\nsetings: {}\n",
            "x.yaml:2: unknown key 'setings' in the scenario; known: "
            "name, description, settings, steps, expect, differences",
        ),
        (
            "settings: {minions: [m1], colour: red}\nsteps: []\n",
            "x.yaml:1: unknown key 'colour' in settings; known: backend, dialect, minions, "
            "master, minion, impostors, vms, cloud",
        ),
        (
            "steps: []\nexpect:\n  - never: {tag: a, dat: {}}\n",
            "x.yaml:3: unknown key 'dat' in never pattern; known: tag, match, data, exact, capture",
        ),
        (
            "steps:\n  - cloud: {create: vm1}\n",
            "x.yaml:2: unknown key 'create' in cloud; known: profile, names, destroy, fault",
        ),
        (
            "steps:\n  - start: all\n    kill: m1\n",
            "x.yaml:3: step 1 has two kinds, 'start' and 'kill'; one per step",
        ),
        (
            "steps:\n  - name: x\n",
            "x.yaml:2: step 1 has no kind; known: start, stop, kill, pause, "
            "unpause, disconnect, reconnect, present, started, restart_master, wait, key, keys, "
            "cmd, cmd_async, returns, run, fire, ticks, cloud",
        ),
        ("steps:\n  - ticks: 0\n", "x.yaml:2: ticks must be a whole number >= 1, not a number (0)"),
        (
            "steps:\n  - ticks: true\n",
            "x.yaml:2: ticks must be a whole number >= 1, not a boolean (true)",
        ),
        (
            "steps:\n  - wait: a\n    timeout: soon\n",
            "x.yaml:3: timeout must be a number above 0, not a string ('soon')",
        ),
        (
            "steps:\n  - restart_master: false\n",
            "x.yaml:2: restart_master takes true, not a boolean (false)",
        ),
        ("steps:\n  - cmd: {fun: test.ping}\n", "x.yaml:2: cmd needs tgt"),
        (
            "steps:\n  - cmd: {tgt: '*', fun: test.ping, tgt_type: nodegroup}\n",
            "x.yaml:2: cmd tgt_type must be one of glob, list, grain, pcre, grain_pcre, compound",
        ),
        (
            "steps:\n  - key: {accept: m1, reject: m2}\n",
            "x.yaml:2: key needs exactly one of accept, reject, delete",
        ),
        (
            "steps:\n  - fire: {data: {}}\n",
            "x.yaml:2: fire tag must be a non-empty string, not null",
        ),
        (
            "steps:\n  - keys: {}\n",
            "x.yaml:2: keys needs at least one of accepted, pending, rejected, denied",
        ),
        (
            "steps:\n  - keys: {accepted: m1}\n",
            "x.yaml:2: keys accepted must be a list, not a string ('m1')",
        ),
        (
            "steps:\n  - keys: {gone: []}\n",
            "x.yaml:2: unknown key 'gone' in keys; known: accepted, pending, rejected, denied",
        ),
        (
            "steps:\n  - fire: {tag: a, count: 0}\n",
            "x.yaml:2: fire count must be a whole number >= 1, not a number (0)",
        ),
        ("steps: {start: all}\n", "x.yaml:1: steps must be a list, not a mapping"),
        (
            "settings: {minions: [m1, m1]}\nsteps: []\n",
            "x.yaml:1: settings.minions names 'm1' twice",
        ),
        (
            "settings: {minions: [all]}\nsteps: []\n",
            "x.yaml:1: settings.minions: 'all' is reserved "
            "for 'every minion' and cannot be a minion id",
        ),
        (
            "settings: {backend: k8s}\nsteps: []\n",
            "x.yaml:1: settings.backend must be docker or local or salt",
        ),
        ("- just\n- a list\n", "x.yaml:1: a scenario must be a mapping, not a list"),
        ("", "x.yaml:1: empty scenario; it needs at least steps:"),
        ("name: x\n", "x.yaml:1: a scenario needs steps:"),
    ],
)
def test_errors_name_the_line_and_the_problem(text: str, expected: str) -> None:
    assert error(text) == expected


def test_broken_yaml_names_line_and_column() -> None:
    message = error("steps:\n  - start: all\n  - wait: {tag: a\n  - kill: m1\n")
    assert message == "x.yaml:4: broken YAML at column 9: expected ',' or '}', but got ':'"
    message = error("steps:\n  - start: [a, b\n")
    assert message.startswith("x.yaml:3: broken YAML at column 1: ")


def test_duplicate_keys_are_errors_but_merge_keys_may_be_overridden() -> None:
    assert error("steps: []\nname: a\nname: b\n") == (
        "x.yaml:3: duplicate key 'name' (first at line 2)"
    )
    text = """\
    base: &base {tag: salt/auth}
    """
    assert "unknown key 'base'" in error(text + "steps: []\n")
    scenario = load(
        """\
        steps:
          - wait: &w {tag: salt/auth, data: {id: m1}}
          - wait: {<<: *w, tag: salt/key}
        """
    )
    assert scenario.steps[1].args.tag == "salt/key"  # type: ignore[attr-defined]
    assert scenario.steps[1].args.data == {"id": "m1"}  # type: ignore[attr-defined]


def test_custom_yaml_tags_are_refused() -> None:
    assert error("steps: !!python/object:os.system {}\n") == (
        "x.yaml:1: unsupported YAML tag 'tag:yaml.org,2002:python/object:os.system' on a mapping"
    )
    assert "could not determine a constructor" in error("steps: [!custom x]\n")


@pytest.mark.parametrize(
    ("expect", "expected"),
    [
        (
            "- orderr: [a]",
            "x.yaml:4: unknown expectation kind 'orderr'; known: order, sequence, "
            "unordered, count, never, within, each_minion",
        ),
        (
            "- order: [a]\n  never: b",
            "x.yaml:4: expectation has two kinds, 'order' and 'never'; "
            "known: order, sequence, unordered, count, never, within, each_minion",
        ),
        (
            "- dialect: '3007'\n  order: [a]",
            'x.yaml:4: dialect must be "3006" or "3008", not a string (\'3007\')',
        ),
        ("- order: [a]\n  between: [s1, s1]", "x.yaml:5: between applies to never and count only"),
        (
            "- never: a\n  between: [s1, nope]",
            "x.yaml:5: between names step 'nope', which no step has; named steps: s1",
        ),
        (
            "- never: a\n  between: [s1]",
            "x.yaml:5: between needs two step names: [FIRST_STEP, LAST_STEP]",
        ),
        (
            "- within: {after: s1, seconds: 5}",
            "x.yaml:4: within needs after, seconds and pattern; pattern is missing",
        ),
        (
            "- within: {after: s2, seconds: 5, pattern: a}",
            "x.yaml:4: within after names step 's2', which no step has; named steps: s1",
        ),
        (
            "- within: {after: s1, seconds: -1, pattern: a}",
            "x.yaml:4: within seconds must be a number above 0, not a number (-1)",
        ),
        ("- count: {pattern: a}", "x.yaml:4: count needs min, max or exactly"),
        (
            "- count: {pattern: a, exactly: 1, max: 2}",
            "x.yaml:4: count takes exactly, or min and/or max, not both",
        ),
        ("- count: {pattern: a, min: 3, max: 2}", "x.yaml:4: count min 3 is above max 2"),
        ("- count: {min: 3}", "x.yaml:4: count needs pattern"),
        (
            "- each_minion: {each_minion: {order: [a]}}",
            "x.yaml:4: unknown kind inside "
            "each_minion 'each_minion'; known: order, sequence, unordered, count, never, within",
        ),
        (
            "- each_minion: {dialect: '3006', order: [a]}",
            "x.yaml:4: dialect goes beside each_minion, not inside",
        ),
        (
            "- order: [{tag: 'salt/job/${jid}/ret/*'}]",
            "x.yaml:4: ${jid} is not captured by an earlier pattern",
        ),
        (
            "- order: ['salt/minion/${minion}/start']",
            "x.yaml:4: ${minion} is only set inside each_minion",
        ),
        (
            "- never: {tag: a, capture: {x: id}}",
            "x.yaml:4: a never pattern cannot capture: it must match nothing",
        ),
        (
            "- order: [{tag: a, capture: {minion: id}}]",
            "x.yaml:4: capture name 'minion' is reserved (each_minion sets it)",
        ),
        (
            "- order: [{tag: a, capture: {x: '@tagg'}}]",
            "x.yaml:4: capture path '@tagg': '@' paths are @tag or @tag.N (a tag segment)",
        ),
        (
            "- order: [{tag: a, capture: {x: a..b}}]",
            "x.yaml:4: capture path 'a..b' has an empty part",
        ),
        (
            "- order: [{tag: '(', match: regex}]",
            "x.yaml:4: invalid regex tag '(': missing ), unterminated subpattern at position 0",
        ),
        (
            "- order: [{tag: a, match: glob}]",
            "x.yaml:4: match must be one of startswith, endswith, find, regex, fnmatch",
        ),
        (
            "- order: [{tag: a, data: [1]}]",
            "x.yaml:4: order pattern 1 data must be a mapping, not a list",
        ),
        (
            "- order: [{tag: a, exact: yes please}]",
            "x.yaml:4: exact must be true or false, not a string ('yes please')",
        ),
        (
            "- order: [[a]]",
            "x.yaml:4: order pattern 1 must be a tag string or a mapping with tag/data, not a list",
        ),
        (
            "- order: ['']",
            "x.yaml:4: order pattern 1 tag must be a non-empty string, not a string ('')",
        ),
    ],
)
def test_expectation_errors_name_the_line(expect: str, expected: str) -> None:
    text = "steps:\n  - {start: all, name: s1}\nexpect:\n" + expect + "\n"
    assert error(text) == expected


def test_captures_must_flow_in_document_order_per_dialect() -> None:
    base = "steps: [{start: all}]\nexpect:\n"
    ok = """\
  - order: [{tag: "salt/job/*/new", capture: {jid: jid}}, "salt/job/${jid}/ret/*"]
  - never: {tag: "salt/job/${jid}/ret/m9"}
"""
    load(base + ok)
    # Captured only in a 3006 expectation: unusable in a 3008 run.
    only_3006 = """\
  - dialect: "3006"
    order: [{tag: "salt/job/*/new", capture: {jid: jid}}]
  - never: {tag: "salt/job/${jid}/ret/m9"}
"""
    assert error(base + only_3006) == (
        "x.yaml:5: ${jid} is not captured by an earlier pattern (in a run of dialect 3008)"
    )
    # Patterns of one unordered block cannot use each other's captures.
    same_block = '  - unordered: [{tag: a, capture: {x: id}}, "b/${x}"]\n'
    assert error(base + same_block) == "x.yaml:3: ${x} is not captured by an earlier pattern"
    # Captures made inside each_minion stay inside it.
    inside = (
        '  - each_minion: {order: [{tag: "salt/minion/${minion}/start", capture: {t: ts}}]}\n'
        '  - never: "x/${t}"\n'
    )
    assert error(base + inside) == "x.yaml:4: ${t} is not captured by an earlier pattern"


def test_wait_steps_capture_for_later_wait_steps_only() -> None:
    load(
        "steps:\n  - wait: {tag: 'salt/job/*/new', capture: {jid: jid}}\n"
        "  - wait: 'salt/job/${jid}/ret/*'\n"
    )
    assert error("steps:\n  - wait: 'salt/job/${jid}/ret/*'\n") == (
        "x.yaml:2: ${jid} is not captured by an earlier wait or cmd_async step"
    )


def test_step_names_are_unique_and_each_minion_needs_minions() -> None:
    assert error("steps:\n  - start: all\n    name: a\n  - stop: all\n    name: a\n") == (
        "x.yaml:4: step name 'a' is used twice (first at line 2)"
    )
    assert error("steps: []\nexpect:\n  - each_minion: {never: a}\n") == (
        "x.yaml:3: each_minion needs settings.minions or settings.vms"
    )


IMPOSTORS = """\
settings:
  minions: [m1, m2]
  impostors:
    m1-copy: m1
    ghost: m9
steps:
  - start: [m1, m1-copy]
  - kill: ghost
  - key: {delete: [m1, m9]}
  - stop: all
"""


def test_impostors_are_handles_for_minion_steps_and_ids_for_key_steps() -> None:
    scenario = load_scenario_text(IMPOSTORS, "x.yaml")
    assert scenario.settings.impostors == {"m1-copy": "m1", "ghost": "m9"}
    assert scenario.settings.minions == ("m1", "m2")
    assert scenario.steps[0].args == ("m1", "m1-copy")
    assert scenario.steps[2].args == KeyAction("delete", ("m1", "m9"))
    assert scenario.settings.resolve("all") == ("m1", "m2")  # `all` never means an impostor
    assert load_scenario_text("steps: []\n", "x.yaml").settings.impostors == {}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "settings:\n  minions: [m1]\n  impostors: [m1]\nsteps: []\n",
            "x.yaml:3: settings.impostors (a mapping of handle: id) must be a mapping, not a list",
        ),
        (
            "settings:\n  minions: [m1]\n  impostors:\n    m1-copy: m1\n    m1: m1\nsteps: []\n",
            "x.yaml:5: settings.impostors: handle 'm1' is also in settings.minions",
        ),
        (
            "settings:\n  minions: [m1]\n  impostors:\n    m1-copy: 'a b'\nsteps: []\n",
            "x.yaml:4: settings.impostors m1-copy: minion id 'a b' must be letters, digits, "
            "'.', '_' or '-'",
        ),
        (
            "settings:\n  minions: [m1]\n  impostors:\n    all: m1\nsteps: []\n",
            "x.yaml:4: settings.impostors handle: 'all' is reserved for 'every minion' and "
            "cannot be a name",
        ),
        (
            "settings:\n  minions: [m1]\n  impostors: {m1-copy: m1}\nsteps:\n"
            "  - key: {accept: m1-copy}\n",
            "x.yaml:5: minion 'm1-copy' in step 'key' is not in settings.minions (m1) "
            "or the settings.impostors ids (m1)",
        ),
        (
            "settings:\n  minions: [m1]\n  impostors: {m1-copy: m1}\nsteps:\n  - start: m2\n",
            "x.yaml:5: minion 'm2' in step 'start' is not in settings.minions (m1) "
            "or the settings.impostors handles (m1-copy)",
        ),
    ],
)
def test_impostor_errors_name_the_line(text: str, expected: str) -> None:
    assert error(text) == expected


def test_overrides_keep_impostors_apart_from_minions() -> None:
    scenario = load_scenario_text(
        "settings: {minions: [m1], impostors: {minion-2: m1}}\nsteps: [{start: minion-2}]\n",
        "o.yaml",
    )
    assert scenario.with_overrides(minions=1).settings.impostors == {"minion-2": "m1"}
    with pytest.raises(
        ScenarioError,
        match=r"^o.yaml \(override\): settings.impostors: handle 'minion-2' is also in",
    ):
        scenario.with_overrides(minions=2)


def test_overrides_replace_dialect_backend_and_minions() -> None:
    scenario = load_scenario_text("settings: {minions: 2}\nsteps: [{kill: minion-2}]\n", "o.yaml")
    changed = scenario.with_overrides(dialect="3006", backend="docker", minions=5)
    assert changed.settings.dialect == "3006"
    assert changed.settings.backend == "docker"
    assert changed.settings.minions == tuple(f"minion-{n}" for n in range(1, 6))
    assert scenario.settings.minions == ("minion-1", "minion-2")  # the original is untouched
    with pytest.raises(ScenarioError, match=r"^o.yaml:2: minion 'minion-2' in step 'kill'"):
        scenario.with_overrides(minions=1)
    with pytest.raises(ScenarioError, match="dialect must be"):
        scenario.with_overrides(dialect="2019")
    with pytest.raises(ScenarioError, match="backend must be"):
        scenario.with_overrides(backend="k8s")
    assert scenario.with_overrides(minions=["minion-2"]).settings.minions == ("minion-2",)


def test_scenario_error_is_a_saltsim_value_error_with_parts(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError) as info:
        load_scenario(tmp_path / "missing.yaml")
    err = info.value
    assert isinstance(err, SaltsimError) and isinstance(err, ValueError)
    assert err.line is None and err.source.endswith("missing.yaml")
    assert "cannot read scenario file" in err.problem


CLOUD = """\
settings:
  minions: [m1]
  vms: [vm1, vm2]
  cloud:
    profiles:
      small: {image: debian-12, size: small, preaccept: false, minion: {heartbeat_interval: 1}}
    options: {provision_delay: 0.5}
steps:
  - cloud: {profile: small, names: [vm1, vm2, vm3]}
  - cloud: {destroy: vm2}
  - cloud: {fault: {kind: quota, count: 2}}
  - cloud: {fault: {kind: lost_during_boot, rate: 0.5, seed: 7}}
expect:
  - each_minion: {order: ["salt/cloud/${minion}/created"]}
"""


def test_cloud_settings_and_steps_load_into_typed_values() -> None:
    scenario = load_scenario_text(CLOUD, "x.yaml")
    settings = scenario.settings
    assert settings.vms == ("vm1", "vm2")
    assert settings.judged == ("m1", "vm1", "vm2")  # each_minion: minions, then VMs
    assert settings.resolve("all") == ("m1",)  # the testbed starts no VM
    assert settings.cloud == CloudSettings(
        {
            "small": {
                "image": "debian-12",
                "size": "small",
                "preaccept": False,
                "minion": {"heartbeat_interval": 1},
            }
        },
        {"provision_delay": 0.5},
    )
    assert [step.args for step in scenario.steps] == [
        CloudCreate("small", ("vm1", "vm2", "vm3")),
        CloudDestroy(("vm2",)),
        CloudFault("quota", count=2),
        CloudFault("lost_during_boot", rate=0.5, seed=7),
    ]
    assert scenario.steps[2].args.body() == {"kind": "quota", "count": 2}
    assert scenario.steps[3].args.body() == {"kind": "lost_during_boot", "rate": 0.5, "seed": 7}
    assert load_scenario_text("steps: []\n", "x.yaml").settings.cloud is None


CLOUD_SETTINGS = "settings:\n  cloud:\n    profiles: {p: {image: i, size: s}}\n"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "steps:\n  - cloud: {profile: p, names: [vm1]}\n",
            "x.yaml:2: cloud steps need settings.cloud",
        ),
        (
            CLOUD_SETTINGS + "steps:\n  - cloud: {profile: big, names: [vm1]}\n",
            "x.yaml:5: cloud profile 'big' is not in settings.cloud.profiles (known: p)",
        ),
        (
            CLOUD_SETTINGS + "steps:\n  - cloud: {profile: p}\n",
            "x.yaml:5: cloud profile needs names: the VMs to create",
        ),
        (
            CLOUD_SETTINGS + "steps:\n  - cloud: {profile: p, names: [vm1], destroy: vm1}\n",
            "x.yaml:5: cloud needs exactly one of profile (with names), destroy, fault",
        ),
        (
            CLOUD_SETTINGS + "steps:\n  - cloud: {destroy: vm1, names: [vm1]}\n",
            "x.yaml:5: cloud names go with profile",
        ),
        (
            CLOUD_SETTINGS + "steps:\n  - cloud:\n      profile: p\n      names: [vm1, 'a b']\n",
            "x.yaml:7: cloud names: VM name 'a b' must be letters, digits, '.', '_' or '-'",
        ),
        (
            CLOUD_SETTINGS + "steps:\n  - cloud: {profile: p, names: [vm1, vm1]}\n",
            "x.yaml:5: cloud names names a VM twice",
        ),
        (
            CLOUD_SETTINGS + "steps:\n  - cloud: {profile: p, names: []}\n",
            "x.yaml:5: cloud names needs a VM name or a list of VM names",
        ),
        (
            CLOUD_SETTINGS
            + "steps:\n  - cloud: {profile: p, names: vm1}\n  - cloud: {destroy: vm2}\n",
            "x.yaml:6: cloud destroy: no earlier cloud step creates 'vm2'",
        ),
        (
            CLOUD_SETTINGS + "  minions: [m1]\nsteps:\n  - cloud: {profile: p, names: [m1]}\n",
            "x.yaml:6: VM 'm1' is also in settings.minions",
        ),
        (
            CLOUD_SETTINGS + "steps:\n  - cloud: {fault: {kind: flood, count: 1}}\n",
            "x.yaml:5: cloud fault kind must be one of ('quota', 'create_error', "
            "'stuck_pending', 'lost_during_boot')",
        ),
        (
            CLOUD_SETTINGS + "steps:\n  - cloud: {fault: {kind: quota}}\n",
            "x.yaml:5: cloud fault needs count (the next N creates) or rate (0..1)",
        ),
        (
            CLOUD_SETTINGS + "steps:\n  - cloud: {fault: {kind: quota, count: 0}}\n",
            "x.yaml:5: cloud fault count must be a whole number >= 1, not a number (0)",
        ),
        (
            CLOUD_SETTINGS + "steps:\n  - cloud: {fault: {kind: quota, rate: 2}}\n",
            "x.yaml:5: cloud fault rate must be a number from 0 to 1",
        ),
        (
            CLOUD_SETTINGS + "steps:\n  - cloud: {fault: {kind: quota, count: 1, seed: 3}}\n",
            "x.yaml:5: cloud fault: seed goes with rate, not count",
        ),
        (
            CLOUD_SETTINGS + "steps:\n  - cloud: [vm1]\n",
            "x.yaml:5: cloud must be a mapping, not a list",
        ),
        (
            "settings:\n  cloud: {options: {}}\nsteps: []\n",
            "x.yaml:2: settings.cloud needs profiles",
        ),
        (
            "settings:\n  cloud: {profiles: {}}\nsteps: []\n",
            "x.yaml:2: settings.cloud.profiles needs a profile",
        ),
        (
            "settings:\n  cloud:\n    profiles:\n      p: {image: i}\nsteps: []\n",
            "x.yaml:4: settings.cloud.profiles.p needs size",
        ),
        (
            "settings:\n  cloud:\n    profiles:\n      p: {image: i, size: s, provider: aws}\n"
            "steps: []\n",
            "x.yaml:4: unknown key 'provider' in settings.cloud.profiles.p; known: image, size, "
            "preaccept, delete_key, minion",
        ),
        (
            "settings:\n  cloud:\n    profiles:\n      p:\n        image: i\n        size: s\n"
            "        preaccept: yes please\nsteps: []\n",
            "x.yaml:7: settings.cloud.profiles.p.preaccept must be true or false, "
            "not a string ('yes please')",
        ),
        (
            CLOUD_SETTINGS + "  vms: [vm1]\nsteps: []\n",
            "x.yaml:4: settings.vms: no cloud step creates 'vm1'",
        ),
        (
            CLOUD_SETTINGS + "  minions: [m1]\n  vms: [m1]\nsteps: []\n",
            "x.yaml:5: settings.vms: VM 'm1' is also in settings.minions",
        ),
        (
            "settings:\n  vms: vm1\nsteps: []\n",
            "x.yaml:2: settings.vms (a list of VM names) must be a list, not a string ('vm1')",
        ),
    ],
)
def test_cloud_errors_name_the_line(text: str, expected: str) -> None:
    assert error(text) == expected


def test_overrides_keep_vms_apart_from_minions() -> None:
    scenario = load_scenario_text(
        CLOUD_SETTINGS + "steps: [{cloud: {profile: p, names: [minion-2]}}]\n", "o.yaml"
    )
    assert scenario.with_overrides(minions=1).settings.minions == ("minion-1",)
    with pytest.raises(ScenarioError, match=r"^o.yaml:4: VM 'minion-2' is also in settings"):
        scenario.with_overrides(minions=2)


class _StubBed:
    """What the runner's cloud set-up touches on a testbed before it starts."""

    def __init__(self) -> None:
        self.master_options: dict[str, object] = {"auto_accept": True}
        self.cloud_options: dict[str, object] | None = None

    def start_cloud(self, **options: object) -> str:
        self.cloud_options = options
        return "http://cloud-sim:8080"

    def configure_master(self, **options: object) -> None:
        self.master_options.update(options)


def test_runner_gives_the_master_the_provider_and_the_profiles() -> None:
    from saltsim.scenario.runner import CLOUD_PROVIDER, setup_cloud

    scenario = load_scenario_text(CLOUD.replace("  minions: [m1]\n", "  minion: {a: 1}\n"))
    bed = _StubBed()
    setup_cloud(bed, scenario)
    assert bed.cloud_options == {"provision_delay": 0.5}
    assert bed.master_options == {
        "auto_accept": True,
        "cloud_providers": {CLOUD_PROVIDER: {"driver": "saltsim", "url": "http://cloud-sim:8080"}},
        "cloud_profiles": {
            "small": {
                "provider": CLOUD_PROVIDER,
                "image": "debian-12",
                "size": "small",
                "preaccept": False,
                "minion": {"a": 1, "heartbeat_interval": 1},  # settings.minion, then its own
            }
        },
    }
    untouched = _StubBed()
    setup_cloud(untouched, load_scenario_text("steps: []\n"))
    assert untouched.cloud_options is None and "cloud_providers" not in untouched.master_options


def test_each_minion_covers_the_vms_after_the_minions() -> None:
    from test_scenario_support import run_of

    from saltsim.scenario import check

    scenario = load_scenario_text(CLOUD)
    run = run_of(("salt/cloud/vm1/created", {}), ("salt/cloud/m1/created", {}), minions=("m1",))
    result = check(scenario, run)
    (each,) = result.results
    assert not each.ok and each.minion == "vm2"
    assert "fails for 1 of 3 minions: vm2:" in each.message
