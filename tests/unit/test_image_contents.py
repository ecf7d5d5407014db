"""The service images carry the library the daemons import, and nothing of the harness.

``saltsim.testbed.images.LIBRARY`` lists what of src/saltsim the images copy. Its roots are
every module of the three daemon packages, the CLI the docs run inside the containers
(``python3 -m saltsim ...``) and the healthcheck (``python3 -m saltsim.health``); every
import counts (also inside functions and under ``TYPE_CHECKING``), so a new import cannot
break an image silently. The harness (testbed/, scenario/, churn/) stays out: the CLI may
import it only inside the commands that need it.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from saltsim.testbed import images

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = {
    "saltsim": ROOT / "src" / "saltsim",
    "saltsim_master": ROOT / "master" / "saltsim_master",
    "saltsim_minion": ROOT / "minion" / "saltsim_minion",
    "saltsim_cloudsim": ROOT / "cloud-sim" / "saltsim_cloudsim",
}
DAEMONS = ("saltsim_master", "saltsim_minion", "saltsim_cloudsim")
# What the containers run of saltsim itself, besides what the daemons import.
ENTRIES = ("saltsim.__main__", "saltsim.health")
HARNESS = ("saltsim.testbed", "saltsim.scenario", "saltsim.churn")


@dataclass(frozen=True)
class Import:
    importer: str
    module: str
    lazy: bool  # inside a function, or under TYPE_CHECKING: not run at import time


def _modules(package: str, directory: Path) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for path in sorted(directory.rglob("*.py")):
        parts = list(path.relative_to(directory).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join([package, *parts])] = path
    return found


MODULES = {
    name: path for top, folder in PACKAGES.items() for name, path in _modules(top, folder).items()
}


def _in(module: str, packages: tuple[str, ...]) -> bool:
    return any(module == top or module.startswith(f"{top}.") for top in packages)


def _imports(module: str) -> list[Import]:
    """Every module ``module`` imports (``from pkg import mod`` imports pkg.mod too)."""
    path = MODULES[module]
    here = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: list[Import] = []

    def visit(node: ast.AST, lazy: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inner = lazy or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                inner = True
            names: list[str] = []
            if isinstance(child, ast.Import):
                names = [alias.name for alias in child.names]
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    anchor = here
                    for _ in range(child.level - 1):
                        anchor = anchor.rpartition(".")[0]
                    base = f"{anchor}.{base}" if base else anchor
                names = [base] + [
                    f"{base}.{alias.name}"
                    for alias in child.names
                    if f"{base}.{alias.name}" in MODULES
                ]
            found.extend(Import(module, name, inner) for name in names)
            visit(child, inner)

    visit(ast.parse(path.read_text(), str(path)), False)
    return found


def _with_parents(module: str) -> list[str]:
    """Importing a.b.c runs a/__init__ and a/b/__init__ first."""
    parts = module.split(".")
    return [".".join(parts[: i + 1]) for i in range(len(parts))]


def _reached() -> tuple[dict[str, str], list[Import]]:
    """``({module: the module that first imports it}, imports of the harness)``."""
    roots = [name for name in MODULES if _in(name, DAEMONS)] + list(ENTRIES)
    reached: dict[str, str] = {}
    harness: list[Import] = []
    todo = [(root, "(root)") for root in roots]
    while todo:
        module, importer = todo.pop()
        for name in _with_parents(module):
            if name in reached or name not in MODULES:
                continue
            reached[name] = importer
            for found in _imports(name):
                if _in(found.module, HARNESS):
                    harness.append(found)
                else:
                    todo.append((found.module, name))
    return reached, harness


def _copied() -> set[str]:
    """The saltsim modules the images copy (``LIBRARY``)."""
    library = ROOT / images.LIBRARY_DIR
    copied: set[str] = set()
    for path in images.library_files(ROOT):
        if path.suffix == ".py":
            parts = list((ROOT / path).relative_to(library).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            copied.add(".".join(["saltsim", *parts]))
    return copied


def test_images_copy_every_library_module_the_daemons_import() -> None:
    reached, _ = _reached()
    missing = {m: by for m, by in reached.items() if _in(m, ("saltsim",)) and m not in _copied()}
    assert not missing, (
        "the daemon images would fail to import these (imported by): "
        f"{missing}; add them to LIBRARY in src/saltsim/testbed/images.py"
    )


def test_images_copy_nothing_the_daemons_do_not_import() -> None:
    reached, _ = _reached()
    extra = sorted(_copied() - set(reached))
    assert not extra, (
        f"LIBRARY in src/saltsim/testbed/images.py copies {extra}, which no daemon, the CLI "
        "or the healthcheck imports: drop them"
    )


def test_the_harness_is_imported_only_inside_the_commands_that_need_it() -> None:
    _, harness = _reached()
    eager = [f"{i.importer} imports {i.module}" for i in harness if not i.lazy]
    from_daemons = [f"{i.importer} imports {i.module}" for i in harness if _in(i.importer, DAEMONS)]
    assert not eager, f"the images do not carry the harness: {eager}"
    assert not from_daemons, f"a daemon depends on the harness: {from_daemons}"


def test_a_build_context_holds_the_dockerfile_the_library_and_the_service() -> None:
    files = {str(p) for p in images.service_files("minion")}
    assert {"minion/Dockerfile", ".dockerignore", "src/saltsim/cli/__init__.py"} <= files
    assert "minion/saltsim_minion/__main__.py" in files
    assert not [f for f in files if f.startswith(("src/saltsim/testbed", "master/"))]
    assert not [f for f in files if "__pycache__" in f or f.endswith(".pyc")]
    for name in images.SERVICES:
        dockerfile = (ROOT / images._dockerfile(name)).read_text()
        copies = [line.split()[1] for line in dockerfile.splitlines() if line.startswith("COPY")]
        assert copies == [images.LIBRARY_DIR, images.SERVICES[name]], dockerfile


# An editable install (``pip install -e``) adds a finder after the path's: it would find
# the checkout's saltsim.scenario below the staged saltsim. The image has no such finder.
_AS_IN_AN_IMAGE = (
    "import sys\n"
    "sys.meta_path[:] = [f for f in sys.meta_path if '__editable__' not in "
    "getattr(f, '__module__', '')]\n"
)


def _python(code: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-c", _AS_IN_AN_IMAGE + code]
    return subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, check=False)


def _cli(*words: str) -> str:
    """``python3 -m saltsim WORDS`` as the image runs it."""
    return (
        f"import runpy\nsys.argv = ['saltsim', *{list(words)!r}]\n"
        "runpy.run_module('saltsim', run_name='__main__')\n"
    )


@pytest.mark.parametrize("service", sorted(images.SERVICES))
def test_a_staged_image_tree_imports_and_runs_the_cli(service: str, tmp_path: Path) -> None:
    """The staged context, put first on the path: every daemon module imports, the CLI
    answers, and a harness command says what is missing instead of a traceback."""
    staged = images._stage(service, tmp_path / "context")
    package = staged / images.SERVICES[service]
    env = {**os.environ, "PYTHONPATH": f"{staged / images.LIBRARY_DIR}/..:{package}/.."}
    top = package.name
    imported = _python(
        "import importlib, pkgutil, saltsim\n"
        f"import {top}\n"
        f"assert saltsim.__file__.startswith({str(staged)!r}), saltsim.__file__\n"
        f"for info in pkgutil.walk_packages({top}.__path__, '{top}.'):\n"
        "    if not info.name.endswith('__main__'):\n"
        "        importlib.import_module(info.name)\n"
        "import saltsim.cli, saltsim.health\n",
        env,
        tmp_path,
    )
    assert imported.returncode == 0, imported.stderr
    helped = _python(_cli("run", "--help"), env, tmp_path)
    assert helped.returncode == 0 and "state.event" in helped.stdout, helped.stderr
    listed = _python(_cli("scenario", "list"), env, tmp_path)
    assert listed.returncode == 2, listed.stderr
    assert "needs saltsim's test harness (saltsim.scenario)" in listed.stderr, listed.stderr
