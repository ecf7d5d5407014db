"""``make clean`` says what it removes and keeps the runs' results and the docker sessions
(another terminal's running testbed among them) unless ``ALL=1`` (#16 item 9)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _dry_run(*words: str) -> list[str]:
    if shutil.which("make") is None:
        pytest.skip("no make on this machine")
    done = subprocess.run(
        ["make", "-n", "clean", *words], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def test_clean_removes_the_caches_and_says_what_it_keeps() -> None:
    lines = _dry_run()
    assert "rm -rf .pytest_cache .mypy_cache .ruff_cache .hypothesis site" in lines
    assert not [line for line in lines if "results" in line and line.startswith("rm ")]
    assert not [line for line in lines if "saltsim clean" in line]
    assert any(line.startswith('echo "kept: results/') and "ALL=1" in line for line in lines)


def test_clean_all_removes_the_results_and_every_session() -> None:
    lines = _dry_run("ALL=1")
    assert "rm -rf results bench/results" in lines
    assert any(line.endswith("-m saltsim clean; fi") for line in lines)
    assert sum(line.startswith('echo "ALL=1: removing') for line in lines) == 2
