"""Build the testbed's Docker images locally: a debootstrapped base, then master, minion and
cloud-sim.

Nothing is pulled (the machines have a Docker engine and Debian's package mirror, but no
registry; see DESIGN.md, "Building images without a registry"). Every tag is a content
hash, so a second run with unchanged inputs builds nothing. A service image carries the
library (``LIBRARY``: what the daemons, the in-container CLI and the healthcheck import) and
its own package, built from a staged context that holds only those files.
``python -m saltsim.testbed.images [--force] [--quiet]``.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from functools import partial
from pathlib import Path
from typing import Any

# The docker SDK rather than the CLI: it is already a saltsim dependency (the docker
# backend drives the engine with it), a machine with only the engine's socket needs no
# `docker` binary, and failures arrive as exceptions carrying the build log.
import docker
import docker.errors

from saltsim.errors import EngineUnavailableError, SaltsimError

__all__ = [
    "LIBRARY",
    "EngineUnreachableError",
    "ImageBuildError",
    "base_tag",
    "debian_mirror",
    "ensure_images",
    "library_files",
    "service_files",
]

SUITE = "bookworm"
BASE_PACKAGES = (
    "python3",
    "python3-zmq",
    "python3-msgpack",
    "python3-cryptography",
    "python3-yaml",
    "python3-aiohttp",
    "python3-docker",
    # a minion names itself after its container by asking Docker's DNS for its PTR record
    # (the libc resolver answers from /etc/hosts, with the container id)
    "python3-dnspython",
    # debootstrap's resolver skips virtual packages: python3-zmq and python3-cryptography
    # depend on python3-cffi-backend-api-min/max, which only python3-cffi-backend provides.
    "python3-cffi-backend",
)
BUILDER_VERSION = "1"  # part of the base's cache key: bump it when the build steps change
IMAGE_LABEL = "org.saltsim.image"
MIRROR_ENV = "SALTSIM_DEBIAN_MIRROR"
REPO_ROOT = Path(__file__).resolve().parents[3]
LIBRARY_DIR = "src/saltsim"
# The part of src/saltsim every service image carries (files and folders in LIBRARY_DIR):
# what master/, minion/ and cloud-sim/ import, the CLI the docs run inside the containers
# (`python3 -m saltsim run state.event`, `event send`, `key`, `cmd`) and the healthcheck
# (`python3 -m saltsim.health`). Not the harness (testbed/, scenario/, churn/), the REST
# client (remote/), the recorder or the pytest plugin. tests/unit/test_image_contents.py
# walks the daemons' imports: it fails when a module they import is missing here, or when
# one listed here is imported by none of them.
LIBRARY = (
    "__init__.py",
    "__main__.py",
    "py.typed",
    "asyncclient.py",
    "bus.py",
    "busprocess.py",
    "cli",
    "client.py",
    "config.py",
    "containerid.py",
    "crypto.py",
    "curve.py",
    "deadline.py",
    "errors.py",
    "event.py",
    "health.py",
    "listener.py",
    "logsetup.py",
    "masterclient.py",
    "minionipc.py",
    "private.py",
    "reader.py",
    "safejson.py",
    "stamp.py",
    "tags.py",
    "targeting.py",
    "wire.py",
)
# Each service image's own package, beside the library (its Dockerfile says where to).
SERVICES = {
    "master": "master/saltsim_master",
    "minion": "minion/saltsim_minion",
    "cloudsim": "cloud-sim/saltsim_cloudsim",
}
# Where a service's Dockerfile is, when its folder is not named after it.
_FOLDERS = {"cloudsim": "cloud-sim"}
# Emptied (files only) before the import: apt's lists and caches, docs, logs.
_PRUNE = (
    "var/lib/apt/lists",
    "var/cache/apt",
    "var/log",
    "usr/share/doc",
    "usr/share/man",
    "usr/share/info",
    "usr/share/locale",
)
_ONE_LINE = re.compile(r"^\s*deb\s+(?:\[[^\]]*\]\s+)?(?P<uri>\S+)\s+(?P<suite>\S+)")
_SCHEMES = ("http://", "https://", "file:")


class ImageBuildError(SaltsimError, RuntimeError):
    """An image could not be built; the message ends with the tail of the tool's output."""


EngineUnreachableError = EngineUnavailableError  # saltsim's one "no engine" error


def debian_mirror(env: Mapping[str, str] | None = None, apt_dir: Path = Path("/etc/apt")) -> str:
    """The Debian mirror this machine's apt uses for the suite (never written in the repo)."""
    env = os.environ if env is None else env
    if env.get(MIRROR_ENV, "").strip():
        return env[MIRROR_ENV].strip()
    for path in sorted(apt_dir.glob("sources.list.d/*.sources")):
        for stanza in _deb822(path.read_text(errors="replace")):
            wanted = "deb" in stanza.get("types", "").split() and stanza.get("enabled") != "no"
            if wanted and SUITE in stanza.get("suites", "").split():
                uris = [u for u in stanza.get("uris", "").split() if u.startswith(_SCHEMES)]
                if uris:
                    return uris[0]
    for path in [apt_dir / "sources.list", *sorted(apt_dir.glob("sources.list.d/*.list"))]:
        lines = path.read_text(errors="replace").splitlines() if path.is_file() else []
        for match in filter(None, map(_ONE_LINE.match, lines)):
            if match["suite"] == SUITE and match["uri"].startswith(_SCHEMES):
                return match["uri"]
    raise ImageBuildError(
        f"no Debian mirror for {SUITE} in {apt_dir}/sources.list.d/*.sources or "
        f"{apt_dir}/sources.list; set {MIRROR_ENV} to the mirror's URL"
    )


def _deb822(text: str) -> Iterator[dict[str, str]]:
    stanza: dict[str, str] = {}
    key = ""
    for line in [*text.splitlines(), ""]:
        if line.startswith("#"):
            continue
        if not line.strip():
            if stanza:
                yield stanza
            stanza, key = {}, ""
        elif line[0] in " \t" and key:
            stanza[key] += " " + line.strip()
        elif ":" in line:
            key, _, value = line.partition(":")
            key = key.strip().lower()
            stanza[key] = value.strip().lower() if key == "enabled" else value.strip()


def base_tag() -> str:
    digest = hashlib.sha256(f"{BUILDER_VERSION}\n{SUITE}\n{','.join(BASE_PACKAGES)}".encode())
    return f"saltsim-base:{digest.hexdigest()[:12]}"


def _dockerfile(name: str) -> str:
    return f"{_FOLDERS.get(name, name)}/Dockerfile"


def _tree(top: Path) -> list[Path]:
    """``top`` (a file, or a folder's files), without what .dockerignore leaves out."""
    files = sorted(p for p in top.rglob("*") if p.is_file()) if top.is_dir() else [top]
    return [p for p in files if "__pycache__" not in p.parts and p.suffix != ".pyc"]


def library_files(root: Path = REPO_ROOT) -> list[Path]:
    """The library files every service image copies, relative to ``root``."""
    library = root / LIBRARY_DIR
    return [p.relative_to(root) for entry in LIBRARY for p in _tree(library / entry)]


def service_files(name: str, root: Path = REPO_ROOT) -> list[Path]:
    """Everything ``name``'s build context holds, relative to ``root``: its Dockerfile,
    .dockerignore, the library and its own package."""
    own = [p.relative_to(root) for p in _tree(root / SERVICES[name])]
    return [Path(_dockerfile(name)), Path(".dockerignore"), *library_files(root), *own]


def _service_tag(name: str, base: str, base_id: str) -> str:
    """Hash of the base (tag and id) and of every file in the service's build context."""
    digest = hashlib.sha256(f"{base}\n{base_id}\n".encode())
    for path in service_files(name):
        digest.update(f"{path}\0".encode() + (REPO_ROOT / path).read_bytes() + b"\0")
    return f"saltsim-{name}:{digest.hexdigest()[:12]}"


def _stage(name: str, into: Path) -> Path:
    """A build context holding only ``service_files(name)``: the Dockerfile's ``COPY
    src/saltsim`` then copies the library, not the harness beside it."""
    for path in service_files(name):
        (into / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO_ROOT / path, into / path)
    return into


def _run(cmd: list[str], what: str, extra_log: Path | None = None) -> None:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    done = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    if done.returncode != 0:
        lines = done.stdout.splitlines()
        if extra_log is not None and extra_log.is_file():
            lines += [f"--- {extra_log}:", *extra_log.read_text(errors="replace").splitlines()]
        raise ImageBuildError(f"{what} failed (exit {done.returncode}):\n" + _tail(lines))


def _tail(lines: list[str], count: int = 25) -> str:
    return "\n".join(f"  {line}" for line in lines[-count:] if line.strip())


def _debootstrap(log: Callable[[str], None]) -> str:
    path = os.environ.get("PATH", "") + ":/usr/sbin:/sbin"  # sbin is not on every user's PATH
    found = shutil.which("debootstrap", path=path)
    if found is None and os.geteuid() == 0 and shutil.which("apt-get"):
        log("debootstrap is missing: installing it with apt-get")
        _run(["apt-get", "update"], "apt-get update")
        _run(["apt-get", "install", "-y", "debootstrap"], "apt-get install debootstrap")
        found = shutil.which("debootstrap", path=path)
    if found is None:
        raise ImageBuildError("debootstrap is not installed: install the package 'debootstrap'")
    if os.geteuid() != 0:
        raise ImageBuildError("building the base image runs debootstrap, which needs root")
    return found


def _prune(root: Path) -> None:
    for top in _PRUNE:
        for folder, _dirs, files in os.walk(root / top):
            for name in files:
                os.unlink(os.path.join(folder, name))  # a symlink is unlinked, not followed
    for name in ("etc/hostname", "etc/resolv.conf"):  # the host's copies; docker mounts its own
        (root / name).unlink(missing_ok=True)
        (root / name).write_text("")


def _tar_stream(root: Path) -> Iterator[bytes]:
    """The tree as an uncompressed tar, one file at a time (it never sits whole in memory)."""
    parts: list[bytes] = []

    class _Sink(io.RawIOBase):
        def write(self, data: Any) -> int:
            parts.append(bytes(data))
            return len(parts[-1])

    with tarfile.open(fileobj=_Sink(), mode="w|") as tar:
        for folder, dirs, files in os.walk(root):
            dirs.sort()
            for name in [*dirs, *sorted(files)]:
                path = os.path.join(folder, name)
                tar.add(path, arcname=os.path.relpath(path, root), recursive=False)
                if len(parts) > 64:
                    yield b"".join(parts)
                    parts.clear()
    yield b"".join(parts)


def _remove_tree(path: Path) -> None:
    # debootstrap mounts /proc and /sys in the target while it runs and a failed run can
    # leave them mounted: detach them first so rmtree never walks into the host's.
    mounts = Path("/proc/self/mounts")
    lines = mounts.read_text().splitlines() if mounts.exists() else []
    inside = [p for _, p, *_ in map(str.split, lines) if p.startswith(f"{path}/")]
    for point in sorted(inside, reverse=True):  # the deepest first
        subprocess.run(["umount", "-l", point], capture_output=True, check=False)
    shutil.rmtree(path, ignore_errors=True)


def _build_base(client: Any, tag: str, log: Callable[[str], None]) -> None:
    mirror = debian_mirror()
    tool = _debootstrap(log)
    work = Path(tempfile.mkdtemp(prefix="saltsim-base-", dir="/var/tmp"))  # on disk, not tmpfs
    root = work / "rootfs"
    try:
        started = time.monotonic()
        log(f"base image {tag}: debootstrap {SUITE} from {mirror} (about a minute)")
        include = f"--include={','.join(BASE_PACKAGES)}"
        cmd = [tool, "--variant=minbase", include, SUITE, str(root), mirror]
        _run(cmd, "debootstrap", extra_log=root / "debootstrap" / "debootstrap.log")
        _prune(root)
        imported = time.monotonic()
        log(f"  debootstrap {imported - started:.1f}s")
        repository, _, version = tag.partition(":")
        changes = [f"LABEL {IMAGE_LABEL}=base", "ENV LANG=C.UTF-8", 'CMD ["python3"]']
        try:
            client.api.import_image_from_data(
                _tar_stream(root), repository=repository, tag=version, changes=changes
            )
        except docker.errors.APIError as exc:
            raise ImageBuildError(f"docker import of {root} as {tag} failed: {exc}") from exc
        client.images.get(tag).tag(repository, "latest")
        log(f"  import {time.monotonic() - imported:.1f}s")
    finally:
        _remove_tree(work)


def _build_service(
    client: Any, name: str, tag: str, base: str, force: bool, path: str = str(REPO_ROOT)
) -> None:
    try:
        client.images.build(
            path=path,
            dockerfile=_dockerfile(name),
            buildargs={"BASE": base},
            tag=tag,
            rm=True,
            forcerm=True,
            nocache=force,
        )
    except docker.errors.BuildError as exc:
        lines = "".join(str(c.get("stream") or c.get("error") or "") for c in exc.build_log)
        tail = _tail(lines.splitlines())
        raise ImageBuildError(f"building {tag} failed: {exc.msg}\n{tail}") from exc
    except docker.errors.APIError as exc:
        raise ImageBuildError(f"building {tag} failed: {exc}") from exc


def _connect() -> Any:
    where = os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
    try:
        client = docker.from_env(timeout=900)
        client.ping()
    except (docker.errors.DockerException, OSError) as exc:  # requests' errors are OSErrors
        raise EngineUnreachableError(f"no Docker engine reachable at {where}: {exc}") from exc
    return client


def ensure_images(force: bool = False, log: Callable[[str], None] = print) -> dict[str, str]:
    """Build what is missing (everything with ``force``); return the tags by role."""
    client = _connect()
    if not (REPO_ROOT / "master" / "Dockerfile").is_file():
        raise ImageBuildError(f"no master/Dockerfile under {REPO_ROOT}: run from a source checkout")
    started = time.monotonic()
    tags = {"base": base_tag()}
    if force or not client.images.list(name=tags["base"]):
        _build_base(client, tags["base"], log)
        log(f"base image {tags['base']} built in {time.monotonic() - started:.1f}s")
    else:
        log(f"base image {tags['base']} cached")
    for name in SERVICES:
        stage = time.monotonic()
        tags[name] = tag = _service_tag(name, tags["base"], client.images.get(tags["base"]).id)
        cached = not force and bool(client.images.list(name=tag))
        if not cached:
            with tempfile.TemporaryDirectory(prefix=f"saltsim-{name}-") as work:
                context = str(_stage(name, Path(work)))
                _build_service(client, name, tag, tags["base"], force, path=context)
        client.images.get(tag).tag(f"saltsim-{name}", "latest")
        took = "cached" if cached else f"built in {time.monotonic() - stage:.1f}s"
        log(f"{name} image {tag} {took} (also saltsim-{name}:latest)")
    log(f"images ready in {time.monotonic() - started:.1f}s")
    return tags


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m saltsim.testbed.images",
        description="build the base and service images locally (nothing is pulled)",
    )
    parser.add_argument("--force", action="store_true", help="rebuild even if the tags exist")
    parser.add_argument("--quiet", action="store_true", help="print nothing but errors")
    parser.add_argument(
        "--if-engine",
        action="store_true",
        help="with no Docker engine, say so in one line and succeed (for `make test`, whose "
        "docker tests then skip, or fail under SALTSIM_REQUIRE_DOCKER)",
    )
    args = parser.parse_args(argv)
    quiet: Callable[[str], None] = lambda _line: None  # noqa: E731
    try:
        ensure_images(args.force, quiet if args.quiet else partial(print, flush=True))
    except (ImageBuildError, EngineUnreachableError) as exc:
        if isinstance(exc, EngineUnreachableError) and args.if_engine:
            print(f"saltsim-images: no images built: {exc}", file=sys.stderr)
            return 0
        print(f"saltsim-images: error: {exc}", file=sys.stderr)
        return 2 if isinstance(exc, EngineUnreachableError) else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
