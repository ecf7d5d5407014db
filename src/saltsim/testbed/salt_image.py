"""The real-Salt image: ``salt==<version>`` from a host wheelhouse, on the project's base.

Nothing is pulled from a container registry. The host fills a wheelhouse with
``pip download`` (PyPI through pip, as for any Python dependency) and turns the sdists
among them (salt itself, timelib) into wheels with ``pip wheel``; the folder is cached
under ``~/.cache/saltsim/wheelhouse-<version>-<hash>`` and reused. The image build copies
it in and installs with ``pip --no-index`` (pip itself runs from its wheel: the base has
no pip), then adds saltsim's code and the bridge (``saltbridge/``), which reads Salt's bus.
``python -m saltsim.testbed.salt_image [--version 3008.3] [--force]``.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from saltsim.testbed.images import (
    REPO_ROOT,
    EngineUnreachableError,
    ImageBuildError,
    _build_service,
    _connect,
    _tail,
    ensure_images,
)

__all__ = ["SALT_VERSIONS", "ensure_salt_image", "salt_tag", "wheelhouse"]

# The Salt each dialect runs. 3006.30 (the newest 3006) does not resolve: it pins
# certifi>=2026.10.23, which PyPI does not have; 3006.29 is the newest that installs.
SALT_VERSIONS = {"3008": "3008.3", "3006": "3006.29"}
WHEELHOUSE_VERSION = "1"  # part of the cache key: bump it when the filling steps change
_COPIED = ("src/saltsim", "saltbridge/saltsim_saltbridge")
_DOCKERFILE = "saltbridge/Dockerfile"


def _cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "saltsim"


def _wheelhouse_key(version: str) -> str:
    """The Python it is for (the base image's: CPython 3.11 on glibc x86_64) and the steps."""
    text = f"{WHEELHOUSE_VERSION}\nsalt=={version}\ncp311\nmanylinux_2_36_x86_64\n"
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _pip(args: list[str], what: str) -> None:
    cmd = [sys.executable, "-m", "pip", *args]
    done = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if done.returncode != 0:
        raise ImageBuildError(
            f"{what} failed (exit {done.returncode}):\n{_tail(done.stdout.splitlines())}"
        )


def wheelhouse(version: str, log: Callable[[str], None] = print) -> Path:
    """The cached wheelhouse for ``salt==version`` (filled on first use): wheels only, pip's
    among them. Made in a temporary folder and renamed into place, so a failed or
    interrupted fill leaves no half wheelhouse behind."""
    folder = _cache_root() / f"wheelhouse-{version}-{_wheelhouse_key(version)}"
    if (folder / ".complete").is_file():
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f"{folder.name}.", dir=folder.parent))
    try:
        started = time.monotonic()
        log(f"wheelhouse salt=={version}: pip download into {folder}")
        # The host is CPython 3.11 on Debian bookworm, as the base image is; --only-binary
        # for a foreign platform would refuse salt, which is published as an sdist only.
        _pip(["download", "-q", "-d", str(work), f"salt=={version}", "pip"], "pip download")
        downloaded = time.monotonic()
        log(f"  downloaded in {downloaded - started:.1f}s")
        for sdist in sorted(work.glob("*.tar.gz")):
            _pip(
                ["wheel", "-q", "--no-deps", "-w", str(work), str(sdist)], f"pip wheel {sdist.name}"
            )
            sdist.unlink()
        log(f"  sdists built into wheels in {time.monotonic() - downloaded:.1f}s")
        (work / ".complete").write_text(f"salt=={version}\n")
        shutil.rmtree(folder, ignore_errors=True)
        work.rename(folder)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return folder


def salt_tag(version: str, base_id: str, house: Path) -> str:
    """Hash of the base image, the wheelhouse's file names, the Dockerfile and the code."""
    digest = hashlib.sha256(f"{version}\n{base_id}\n".encode())
    digest.update("\n".join(sorted(p.name for p in house.glob("*.whl"))).encode())
    inputs = [REPO_ROOT / _DOCKERFILE]
    for top in _COPIED:
        inputs += sorted(p for p in (REPO_ROOT / top).rglob("*") if p.is_file())
    for path in inputs:
        if "__pycache__" not in path.parts and path.suffix != ".pyc":
            digest.update(f"{path.relative_to(REPO_ROOT)}\0".encode() + path.read_bytes() + b"\0")
    return f"saltsim-salt:{version}-{digest.hexdigest()[:12]}"


def _context(house: Path, into: Path) -> None:
    """The build context: the Dockerfile, the wheelhouse (hard links where possible) and the
    code; the repository root is not the context, so nothing else is sent."""
    (into / "salt").mkdir()  # images._dockerfile("salt") is salt/Dockerfile
    shutil.copy(REPO_ROOT / _DOCKERFILE, into / "salt" / "Dockerfile")
    link: Any = os.link
    try:
        shutil.copytree(house, into / "wheelhouse", copy_function=link)
    except OSError:  # another file system: copy instead
        shutil.rmtree(into / "wheelhouse", ignore_errors=True)
        shutil.copytree(house, into / "wheelhouse")
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for top in _COPIED:
        shutil.copytree(REPO_ROOT / top, into / Path(top).name, ignore=ignore)


def ensure_salt_image(
    version: str = SALT_VERSIONS["3008"], force: bool = False, log: Callable[[str], None] = print
) -> str:
    """Build ``saltsim-salt:<version>-<hash>`` if missing (and the base first); its tag."""
    tags = ensure_images(force=False, log=lambda _line: None)
    client = _connect()
    house = wheelhouse(version, log)
    started = time.monotonic()
    tag = salt_tag(version, client.images.get(tags["base"]).id, house)
    if not force and client.images.list(name=tag):
        log(f"salt image {tag} cached")
        return tag
    work = Path(tempfile.mkdtemp(prefix="saltsim-salt-", dir="/var/tmp"))
    try:
        _context(house, work)
        _build_service(client, "salt", tag, tags["base"], force, path=str(work))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    repository = tag.partition(":")[0]
    client.images.get(tag).tag(repository, version)
    log(
        f"salt image {tag} built in {time.monotonic() - started:.1f}s (also {repository}:{version})"
    )
    return tag


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m saltsim.testbed.salt_image",
        description="build the real-Salt image from a cached wheelhouse (nothing is pulled)",
    )
    parser.add_argument("--version", action="append", help="salt version(s); default 3008.3")
    parser.add_argument("--force", action="store_true", help="rebuild even if the tag exists")
    parser.add_argument(
        "--if-engine", action="store_true", help="with no Docker engine, say so and succeed"
    )
    args = parser.parse_args(argv)
    say = partial(print, flush=True)
    try:
        for version in args.version or [SALT_VERSIONS["3008"]]:
            ensure_salt_image(version, args.force, say)
    except (ImageBuildError, EngineUnreachableError) as exc:
        if isinstance(exc, EngineUnreachableError) and args.if_engine:
            print(f"saltsim-salt-image: no image built: {exc}", file=sys.stderr)
            return 0
        print(f"saltsim-salt-image: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
