"""The failure paths: a broken expectation fails with the readable diff, from a live run
and from a recorded one; a malformed file names its line; unknown names are refused."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from saltsim.cli import main
from saltsim.cli.scenario import scenarios_dir

pytestmark = pytest.mark.functional


def _broken_presence(tmp_path: Path) -> Path:
    """presence.yaml with one golden expectation changed: m1 instead of m2 was lost."""
    text = (scenarios_dir() / "presence.yaml").read_text()
    wrong = "{tag: salt/presence/change, data: {new: [], lost: [m1]}}"
    broken = text.replace("{tag: salt/presence/change, data: {new: [], lost: [m2]}}", wrong, 1)
    assert broken != text, "presence.yaml changed shape; update this test"
    path = tmp_path / "presence-broken.yaml"
    path.write_text(broken.replace("name: presence\n", "name: presence-broken\n", 1))
    return path


def test_broken_expectation_fails_with_the_divergence_beside_the_timeline(
    scenario: Callable[..., Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = scenario("presence", backend="local")
    assert good.ok, good.report()
    broken = _broken_presence(tmp_path)
    # re-check the recorded run against the broken file: nothing runs again
    assert main(["scenario", "check", str(broken), "--events", str(good.events_path)]) == 1
    out = capsys.readouterr().out
    assert "FAILED" in out and "first divergence" in out
    assert "lost: [m1]" in out  # the expected pattern, beside...
    assert "salt/presence/change" in out  # ...the recorded timeline
    # the good file passes against the same record
    assert main(["scenario", "check", "presence", "--events", str(good.events_path)]) == 0


def test_live_run_of_a_broken_scenario_exits_1_and_writes_its_record(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = _broken_presence(tmp_path)
    results = tmp_path / "results"
    code = main(["scenario", "run", str(broken), "--backend", "local", "--results", str(results)])
    out = capsys.readouterr().out
    assert code == 1
    assert "first divergence" in out and "FAILED: presence-broken" in out
    runs = list(results.glob("presence-broken-local-3008-*"))
    assert len(runs) == 1
    assert (runs[0] / "events.jsonl").stat().st_size > 0
    assert "<svg" in (runs[0] / "timeline.html").read_text()


def test_malformed_scenario_names_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.yaml"
    shutil.copy(scenarios_dir() / "presence.yaml", path)
    path.write_text(path.read_text().replace("  - kill: m2", "  - kil: m2", 1))
    assert main(["scenario", "run", str(path), "--backend", "local"]) == 2
    err = capsys.readouterr().err
    assert f"{path}:" in err and "unknown step kind 'kil'" in err


def test_unknown_scenario_name_lists_the_known_ones(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scenario", "run", "no-such-thing", "--backend", "local"]) == 2
    err = capsys.readouterr().err
    assert "no scenario 'no-such-thing'" in err and "presence" in err


def test_unknown_cli_argument_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["scenario", "run", "presence", "--backnd", "local"])
    assert exit_info.value.code == 2
    assert "unrecognized arguments" in capsys.readouterr().err


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(text)
    return path


SETTINGS = """\
settings:
  backend: local
  minions: 2
  master: {presence_events: true, loop_interval: 0.5, auto_accept: true}
  minion: {heartbeat_interval: 0.5}
"""


def test_a_wait_for_an_event_before_the_previous_match_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(
        tmp_path,
        "early",
        SETTINGS
        + "steps:\n"
        + "  - start: minion-1\n"
        + "  - started: minion-1\n"
        + "  - cmd: {tgt: minion-1, fun: test.ping}\n"
        + "  - wait: salt/job/*/ret/minion-1\n"
        + "  - wait: salt/job/*/new\n"
        + "    timeout: 1\n",
    )
    assert main(["scenario", "run", str(path), "--results", str(tmp_path / "r")]) == 1
    out = capsys.readouterr().out
    # the precedence: no --backend, so the file's backend runs, and the line says why
    assert f"saltsim: backend local (settings.backend in {path}; --backend overrides it)" in out
    # progress lines say what the step does
    assert "  step 2/5: wait for the start event of minion-1\n" in out
    assert "  step 3/5: salt 'minion-1' test.ping\n" in out
    failed = out[out.index("FAILED: no event matching salt/job/*/new") :].splitlines()
    assert re.fullmatch(
        r"    salt/job/\d{20}/new came at #\d+, before the previous wait's match at "
        r"#\d+ \(salt/job/\d{20}/ret/minion-1\)",
        failed[1],
    ), failed
    assert failed[2].startswith("    seen instead")


def test_present_and_started_time_out_naming_who_is_missing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(
        tmp_path,
        "missing",
        SETTINGS + "steps:\n" + "  - start: minion-1\n" + "  - present: all\n" + "    timeout: 3\n",
    )
    assert main(["scenario", "run", str(path), "--results", str(tmp_path / "r")]) == 1
    out = capsys.readouterr().out
    failed = out[out.index("FAILED: ") :].splitlines()
    assert failed[0] == (
        "FAILED: no event matching salt/presence/present listing minion-1, minion-2 within 3.00s"
    )
    assert re.fullmatch(
        r"    missing: minion-2 \(the last salt/presence/present, #\d+, listed 1 of the 2 "
        r"awaited\)",
        failed[1],
    ), failed
    path.write_text(path.read_text().replace("present: all", "started: all"))
    assert main(["scenario", "run", str(path), "--results", str(tmp_path / "r")]) == 1
    out = capsys.readouterr().out
    failed = out[out.index("FAILED: ") :].splitlines()
    assert failed[0].startswith("FAILED: no event matching salt/minion/<id>/start of minion-1")
    assert failed[1] == "    missing: minion-2 (1 of 2 came)"


def test_ticks_that_never_come_say_so_one_event_per_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(
        tmp_path,
        "noticks",
        SETTINGS.replace("presence_events: true", "presence_events: false")
        + "steps:\n  - fire: {tag: my/one}\n  - fire: {tag: my/two}\n"
        + "  - ticks: 1\n    timeout: 1\n",
    )
    assert main(["scenario", "run", str(path), "--results", str(tmp_path / "r")]) == 1
    out = capsys.readouterr().out
    failed = out[out.index("FAILED: ") :].splitlines()
    assert failed[:2] == [
        "FAILED: no event matching salt/presence/present within 1.00s",
        "    no presence tick since the search began: is presence_events on?",
    ]
    assert failed[2] == "    seen instead:"
    assert re.fullmatch(r"        #\d+ my/two \{\}", failed[3]), failed
