"""A local testbed's processes take their settings from the testbed, not the user's shell."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from saltsim.testbed._proc import Child


def test_a_child_runs_without_the_callers_saltsim_variables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SALTSIM_AUTO_ACCEPT", "false")  # as exported for a compose stack
    monkeypatch.setenv("SALTSIM_RET_PORT", "4506")
    monkeypatch.setenv("KEEP_ME", "yes")
    code = (
        "import json, os; print(json.dumps({'env': "
        "[k for k in os.environ if k.startswith(('SALTSIM_', 'KEEP_ME'))]}), flush=True)"
    )
    child = Child("probe", [sys.executable, "-c", code], tmp_path / "probe.log")
    child.start(pump=False)
    try:
        assert child.wait_line("env", 30)["env"] == ["KEEP_ME"]
    finally:
        child.stop()
