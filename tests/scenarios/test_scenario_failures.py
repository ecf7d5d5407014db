"""The failure paths: a broken expectation fails with the readable diff, from a live run
and from a recorded one; a malformed file names its line; unknown names are refused."""

from __future__ import annotations

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
