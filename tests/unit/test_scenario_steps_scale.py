"""The steps that make scenarios scale (#16): ``present`` / ``started`` on a set of minions,
``cmd_async`` / ``returns``, ``${minions}`` in patterns, ``--minions N`` on a file's ids,
the backend's precedence, and what the runner says and raises about steps."""

from __future__ import annotations

import textwrap

import pytest

from saltsim.event import Event
from saltsim.scenario import ScenarioError, load_scenario_text, parse_pattern
from saltsim.scenario._waits import StepFailedError
from saltsim.scenario.pattern import builtin_captures
from saltsim.scenario.spec import AsyncCommand, Command, Returns, extend_minions

HEAD = "settings: {minions: 3, master: {presence_events: true}}\nsteps:\n"


def load(steps: str, backend: str = "") -> object:
    text = HEAD.replace("minions: 3", f"minions: 3{backend}") + textwrap.dedent(steps)
    return load_scenario_text(text, "x.yaml")


def error(steps: str, backend: str = "") -> str:
    with pytest.raises(ScenarioError) as info:
        load(steps, backend)
    return str(info.value)


def test_scaling_steps_load_into_typed_values() -> None:
    scenario = load_scenario_text(
        HEAD
        + "  - start: all\n"
        + "  - started: all\n"
        + "  - present: [minion-1, minion-3]\n"
        + "  - cmd_async: {tgt: '*', fun: test.sleep, arg: [3], jid: job}\n"
        + "  - returns: job\n"
        + "  - returns: {jid: job, from: all, except: minion-2}\n"
        + "  - wait: 'salt/job/${job}/ret/*'\n",
        "x.yaml",
    )
    steps = scenario.steps
    assert [s.kind for s in steps[1:3]] == ["started", "present"]
    assert steps[1].args == "all" and steps[2].args == ("minion-1", "minion-3")
    assert steps[3].args == AsyncCommand(Command("*", "test.sleep", (3,)), "job")
    assert steps[4].args == Returns("job")
    assert steps[5].args == Returns("job", "all", ("minion-2",))


@pytest.mark.parametrize(
    ("steps", "expected"),
    [
        ("  - present: []\n", "x.yaml:3: step 'present' needs 'all', a minion id or a list"),
        ("  - started: [ghost]\n", "x.yaml:3: minion 'ghost' in step 'started' is not in"),
        ("  - cmd_async: {tgt: '*', fun: test.ping}\n", "x.yaml:3: cmd_async needs jid"),
        (
            "  - cmd_async: {tgt: '*', fun: test.ping, jid: 'a b'}\n",
            "x.yaml:3: cmd_async jid must be a capture name (letters, digits, '_'), not 'a b'",
        ),
        (
            "  - cmd_async: {tgt: '*', fun: test.ping, jid: minions}\n",
            "x.yaml:3: cmd_async jid: the name 'minions' is reserved",
        ),
        (
            "  - cmd_async: {tgt: '*', fun: test.ping, jid: j, colour: red}\n",
            "x.yaml:3: unknown key 'colour' in cmd_async",
        ),
        (
            "  - returns: job\n",
            "x.yaml:3: returns: no earlier cmd_async step captures jid 'job' (known: none yet)",
        ),
        (
            "  - cmd_async: {tgt: '*', fun: test.ping, jid: j}\n  - returns: {from: all}\n",
            "x.yaml:4: returns needs jid: the name a cmd_async step captured",
        ),
        (
            "  - cmd_async: {tgt: '*', fun: test.ping, jid: j}\n"
            "  - returns: {jid: j, except: all}\n",
            "x.yaml:4: returns except: 'all' leaves nothing to wait for",
        ),
        (
            "  - cmd_async: {tgt: '*', fun: test.ping, jid: j}\n"
            "  - returns: {jid: j, except: [ghost]}\n",
            "x.yaml:4: minion 'ghost' in step 'returns' is not in",
        ),
        ("  - returns: [1]\n", "x.yaml:3: returns (a jid name, or {jid: NAME, from: IDS})"),
    ],
)
def test_bad_scaling_steps_name_the_line_the_step_and_the_field(steps: str, expected: str) -> None:
    assert error(steps).startswith(expected)


def test_the_salt_backend_refuses_cmd_async_at_load() -> None:
    message = error("  - cmd_async: {tgt: '*', fun: test.ping, jid: j}\n", ", backend: salt")
    assert message.startswith("x.yaml:3: the salt backend cannot run 'cmd_async' steps")


def test_a_capture_cannot_be_named_minions() -> None:
    assert "capture name 'minions' is reserved" in error(
        "  - wait: {tag: a, capture: {minions: x}}\n"
    )


def test_minions_override_keeps_the_files_ids_and_adds_minion_k() -> None:
    assert extend_minions(("m1", "m2", "m3"), 5) == ("m1", "m2", "m3", "minion-4", "minion-5")
    assert extend_minions(("m1", "m2", "m3"), 2) == ("m1", "m2")
    assert extend_minions(("minion-1", "minion-5"), 4) == (
        "minion-1",
        "minion-5",
        "minion-3",
        "minion-4",
    )
    scenario = load_scenario_text(
        "settings: {minions: [m1, m2]}\nsteps: [{kill: m2}]\n", "o.yaml"
    ).with_overrides(minions=4)
    assert scenario.settings.minions == ("m1", "m2", "minion-3", "minion-4")


@pytest.mark.parametrize(
    ("text", "present", "ok"),
    [
        ('{tag: p, data: {present: "${minions}"}}', ["m3", "m1", "m2"], True),
        ('{tag: p, data: {present: "${minions}"}}', ["m1", "m2"], False),
        ('{tag: p, data: {present: "${minions - m2}"}}', ["m3", "m1"], True),
        ('{tag: p, data: {present: "${minions - m2, m3}"}}', ["m1"], True),
        ('{tag: p, data: {present: "${minions - m2}"}}', ["m1", "m2", "m3"], False),
        ('{tag: p, data: {return: "${minions}"}}', None, True),  # sorted list elsewhere
    ],
)
def test_minions_reference_is_the_runs_ids(text: str, present: object, ok: bool) -> None:
    pattern = parse_pattern(text)
    captures = builtin_captures(("m2", "m1", "m3"))
    key = "return" if "return" in text else "present"
    value = ["m1", "m2", "m3"] if present is None else present
    got = pattern.match(Event.from_data("p", {key: value}), captures)
    assert (got is not None) is ok


def test_an_id_set_miss_says_who_is_missing_and_who_is_extra() -> None:
    pattern = parse_pattern('{tag: p, data: {present: "${minions - m2}"}}')
    captures = builtin_captures(("m1", "m2", "m3"))
    why = pattern.explain(Event.from_data("p", {"present": ["m1", "m2"]}), captures)
    assert why == "data.present: expected 2 ids, got 2 without [m3], with [m2] too"
    assert pattern.describe(captures) == "p {present: [m1, m3]}"


def test_step_failure_lists_what_was_seen_one_event_per_line() -> None:
    seen = [f"#{n} salt/presence/present {{present: []}}" for n in range(1, 16)]
    error_ = StepFailedError("salt/x", 2.0, seen, "a hint", "salt/x came at #3, before ...")
    lines = str(error_).splitlines()
    assert lines[0] == "no event matching salt/x within 2.00s"
    assert lines[1] == "salt/x came at #3, before ..."
    assert lines[2] == "seen instead (the last 12 of 15):"
    assert lines[3] == "    #4 salt/presence/present {present: []}"
    assert lines[-1] == "a hint"
    assert len(lines) == 3 + 12 + 1
    assert isinstance(error_, TimeoutError)


def test_backend_precedence_is_command_line_then_file_then_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from saltsim.cli import scenario as cli

    monkeypatch.setattr(cli, "_default_backend", lambda: ("docker", "the default"))
    assert cli.choose_backend("docker", "local", "p.yaml") == (
        "docker",
        "--backend, over settings.backend local in p.yaml",
    )
    assert cli.choose_backend(None, "local", "p.yaml") == (
        "local",
        "settings.backend in p.yaml; --backend overrides it",
    )
    assert cli.choose_backend(None, None, "p.yaml") == ("docker", "the default")
    loaded = load_scenario_text("settings: {backend: local}\nsteps: []\n", "p.yaml")
    assert loaded.file_backend == "local"
    assert load_scenario_text("steps: []\n", "q.yaml").file_backend is None


def test_progress_lines_say_what_each_step_does() -> None:
    scenario = load_scenario_text(
        HEAD
        + "  - kill: minion-2\n"
        + "  - present: all\n"
        + "  - cmd: {tgt: [minion-1, minion-3], tgt_type: list, fun: test.echo, arg: [hi]}\n"
        + "  - cmd_async: {tgt: '*', fun: test.sleep, arg: [3], jid: job}\n"
        + "  - returns: {jid: job, except: [minion-2]}\n"
        + "  - wait: {tag: salt/presence/change, data: {lost: [minion-2]}}\n"
        + "  - ticks: 2\n"
        + "  - fire: {tag: my/tag, data: {x: 1}, count: 3}\n",
        "x.yaml",
    )
    assert [step.describe() for step in scenario.steps] == [
        "kill minion-2",
        "wait until all minions present (salt/presence/present)",
        "salt -list 'minion-1,minion-3' test.echo hi",
        "salt '*' test.sleep 3 --async (jid as ${job})",
        "wait for the returns of ${job} from every targeted minion but minion-2",
        "wait for salt/presence/change {lost: [minion-2]}",
        "wait for 2 presence ticks",
        "fire my/tag {x: 1} x3",
    ]


def test_a_cmd_async_jid_is_known_to_the_expectations_and_kept_in_the_record() -> None:
    from saltsim.scenario import RecordedRun, check, dumps_record, loads_record

    text = (
        HEAD
        + "  - cmd_async: {tgt: '*', fun: test.ping, jid: job}\n"
        + "expect:\n"
        + "  - order: ['salt/job/${job}/new']\n"
    )
    scenario = load_scenario_text(text, "x.yaml")
    jid = "20261202120000000000"
    run = RecordedRun(minions=scenario.settings.minions, jids={"job": jid})
    run.record(Event.from_data(f"salt/job/{jid}/new", {"_seq": 1}), 1.0)
    again = loads_record(dumps_record(run))
    assert again.jids == {"job": jid}
    result = check(scenario, again)
    assert result.ok and result.captures == {}
    missed = check(scenario, RecordedRun(minions=scenario.settings.minions))
    assert "needs ${job}, which is not set: never captured" in missed.results[0].message
    without = text.replace(
        "  - cmd_async: {tgt: '*', fun: test.ping, jid: job}\n", "  - start: all\n"
    )
    with pytest.raises(ScenarioError, match=r"\$\{job\} is not captured by an earlier pattern"):
        load_scenario_text(without, "x.yaml")


@pytest.mark.parametrize(
    ("expect", "expected"),
    [
        ("  - never: a\n    of: [minion-1]\n", "x.yaml:6: of goes beside each_minion only"),
        (
            "  - each_minion: {never: a, but: [minion-1]}\n",
            "x.yaml:5: but goes beside each_minion only",
        ),
        (
            "  - each_minion: {never: a}\n    of: [ghost]\n",
            "x.yaml:5: each_minion of: 'ghost' is not a minion of the run "
            "(minion-1, minion-2, minion-3)",
        ),
        ("  - each_minion: {never: a}\n    but: minion-1\n", "x.yaml:6: each_minion but"),
    ],
)
def test_each_minion_of_and_but_are_checked(expect: str, expected: str) -> None:
    with pytest.raises(ScenarioError) as info:
        load_scenario_text(HEAD + "  - start: all\nexpect:\n" + expect, "x.yaml")
    assert str(info.value).startswith(expected)


def test_each_minion_of_and_but_choose_the_minions_judged() -> None:
    from saltsim.scenario import RecordedRun, check

    text = (
        HEAD + "  - start: all\nexpect:\n"
        "  - each_minion: {count: {pattern: 'up/${minion}', exactly: 2}}\n"
        "    of: [minion-2]\n"
        "  - each_minion: {count: {pattern: 'up/${minion}', exactly: 1}}\n"
        "    but: [minion-2]\n"
    )
    scenario = load_scenario_text(text, "x.yaml")
    run = RecordedRun(minions=scenario.settings.minions)
    for seq, minion in enumerate(["minion-1", "minion-2", "minion-2", "minion-3"], 1):
        run.record(Event.from_data(f"up/{minion}", {"_seq": seq}), float(seq))
    result = check(scenario, run)
    assert result.ok, [r.message for r in result.results]
    assert result.results[1].message == "count holds for each of 2 minions"
    with pytest.raises(ScenarioError, match="each_minion of: 'minion-2' is not a minion"):
        scenario.with_overrides(minions=1)
