"""One version for the four packages: the installed ``saltsim`` distribution's, else a literal.

The daemons in the images run from copied trees where nothing is installed, so
``saltsim.__version__`` falls back to a literal there; these tests keep that literal equal to
pyproject.toml's version and the three daemon packages equal to ``saltsim``.
"""

from __future__ import annotations

import importlib.metadata
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import saltsim_cloudsim
import saltsim_master
import saltsim_minion

import saltsim

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("saltsim", "saltsim_master", "saltsim_minion", "saltsim_cloudsim")


def _project_version() -> str:
    with (ROOT / "pyproject.toml").open("rb") as handle:
        version = tomllib.load(handle)["project"]["version"]
    assert isinstance(version, str)
    return version


def test_the_four_packages_agree_with_the_installed_distribution() -> None:
    versions = {
        module.__name__: module.__version__
        for module in (saltsim, saltsim_master, saltsim_minion, saltsim_cloudsim)
    }
    assert set(versions.values()) == {importlib.metadata.version("saltsim")}, versions


def test_the_installed_distribution_is_this_tree() -> None:
    # a stale install (pyproject.toml bumped, `make venv` not run) shows here first
    assert importlib.metadata.version("saltsim") == _project_version()


def test_a_copied_tree_falls_back_to_pyprojects_version(tmp_path: Path) -> None:
    # As in the images: the packages import from their folders and no distribution is found.
    script = "\n".join(
        [
            "import importlib.metadata",
            "def missing(name):",
            "    raise importlib.metadata.PackageNotFoundError(name)",
            "importlib.metadata.version = missing",
            "import importlib",
            f"for name in {PACKAGES!r}:",
            "    print(importlib.import_module(name).__version__)",
        ]
    )
    folders = [ROOT / "src", ROOT / "master", ROOT / "minion", ROOT / "cloud-sim"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(str(folder) for folder in folders)}
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [_project_version()] * len(PACKAGES)


def test_the_cli_prints_the_version(capsys: pytest.CaptureFixture[str]) -> None:
    from saltsim.cli import main

    try:
        main(["--version"])
    except SystemExit as exc:
        assert exc.code == 0
    assert capsys.readouterr().out.strip() == f"saltsim {saltsim.__version__}"
