"""Private state on disk: directories only their owner can enter, secrets only it can read.

A master started as root once adopted a ``client_token`` another user had planted (mode
0666) in a predictable ``/tmp`` path, and the planter then ran jobs. So private state
(pki, caches, the bus's sockets, minion keys) lives in a per-user base directory
(``$XDG_RUNTIME_DIR/saltsim``, else ``/tmp/saltsim-<uid>``) made 0700, and every
directory and secret is checked before use, as Salt's ``verify_env`` does:

- a directory must be ours (or root's) and not writable by group or others, and so must
  each of its ancestors unless sticky (``/tmp``): someone who can rename an ancestor can
  swap the directory under us;
- a secret is written 0600 to a fresh name (``O_EXCL``) and renamed into place, and read
  with ``O_NOFOLLOW``: a symlink, a file of another owner or one that group or others can
  read or write is refused with a ``ConfigError`` naming the path, never adopted.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from collections.abc import Callable, Mapping
from pathlib import Path

from saltsim.errors import ConfigError

__all__ = [
    "default_base",
    "private_dir",
    "read_or_create_secret",
    "read_secret",
    "write_public",
    "write_secret",
]

_LOOSE_DIR = 0o022  # group or others may write: they may plant or swap entries
_LOOSE_SECRET = 0o077  # group or others may read or write


def default_base(env: Mapping[str, str] | None = None) -> Path:
    """The per-user base of private state: ``$XDG_RUNTIME_DIR/saltsim`` when the session
    has one (a 0700 tmpfs of this user), else ``/tmp/saltsim-<uid>``."""
    environ = os.environ if env is None else env
    runtime = environ.get("XDG_RUNTIME_DIR", "")
    if runtime and os.path.isabs(runtime):
        return Path(runtime) / "saltsim"
    return Path(f"/tmp/saltsim-{os.geteuid()}")


def _trusted_owner(uid: int) -> bool:
    return uid in (os.geteuid(), 0)


def _check_ancestors(path: Path) -> None:
    for parent in path.parents:
        try:
            st = os.lstat(parent)
        except FileNotFoundError:
            continue
        if stat.S_ISLNK(st.st_mode):
            target = parent.resolve()
            st = os.stat(target)
        sticky = bool(st.st_mode & stat.S_ISVTX)
        if not _trusted_owner(st.st_uid) or (st.st_mode & _LOOSE_DIR and not sticky):
            raise ConfigError(
                f"{parent} (above {path}) is owned by uid {st.st_uid} with mode "
                f"{stat.S_IMODE(st.st_mode):04o}: another user could swap what is below it; "
                "use a directory of your own"
            )


def private_dir(path: str | Path) -> Path:
    """Make ``path`` (and missing parents) mode 0700, or check the one found; returns it.

    A directory found with group/other read bits but otherwise ours is tightened to 0700
    (older versions made 0755 ones); one owned by another user, group/world-writable, or
    a symlink is refused.
    """
    folder = Path(path)
    if not folder.is_absolute():
        folder = Path.cwd() / folder
    _check_ancestors(folder)
    missing = [p for p in (folder, *folder.parents) if not os.path.lexists(p)]
    for part in reversed(missing):
        with contextlib.suppress(FileExistsError):  # made meanwhile: checked below
            os.mkdir(part, 0o700)
    st = os.lstat(folder)
    if stat.S_ISLNK(st.st_mode) or not stat.S_ISDIR(st.st_mode):
        raise ConfigError(f"{folder} must be a directory, not a symlink or a file")
    mode = stat.S_IMODE(st.st_mode)
    if st.st_uid != os.geteuid():
        raise ConfigError(
            f"{folder} is owned by uid {st.st_uid}, not by this user ({os.geteuid()}): "
            "refusing to keep private state in it"
        )
    if mode & _LOOSE_DIR:
        raise ConfigError(
            f"{folder} has mode {mode:04o} (group or others may write): refusing to keep "
            "private state in it; remove it or chmod 700 it after checking its contents"
        )
    if mode != 0o700:
        os.chmod(folder, 0o700)
    return folder


def read_secret(path: str | Path) -> bytes | None:
    """A secret's bytes, ``None`` when there is none; ``ConfigError`` for one that is a
    symlink, not a regular file, not ours, or readable or writable by group or others."""
    where = Path(path)
    try:
        fd = os.open(where, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if os.path.islink(where):
            raise ConfigError(
                f"{where} is a symlink: refusing to read a secret through it"
            ) from exc
        raise ConfigError(f"cannot read {where}: {exc.strerror}") from exc
    with os.fdopen(fd, "rb") as handle:
        st = os.fstat(handle.fileno())
        mode = stat.S_IMODE(st.st_mode)
        if not stat.S_ISREG(st.st_mode):
            raise ConfigError(f"{where} is not a regular file: refusing it as a secret")
        if st.st_uid != os.geteuid():
            raise ConfigError(
                f"{where} is owned by uid {st.st_uid}, not by this user ({os.geteuid()}): "
                "refusing a secret someone else made"
            )
        if mode & _LOOSE_SECRET:
            raise ConfigError(
                f"{where} has mode {mode:04o}: a secret must be 0600; refusing one that "
                "others could have read or written (delete it to have a new one made)"
            )
        return handle.read()


def _write_atomic(path: Path, data: bytes, mode: int) -> None:
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)  # replaces a planted symlink itself, never its target
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_secret(path: str | Path, data: bytes) -> None:
    """Write a secret 0600 under a fresh name, then rename it into place."""
    _write_atomic(Path(path), data, 0o600)


def write_public(path: str | Path, data: bytes) -> None:
    """Write a public key or certificate (0644) the same careful way."""
    _write_atomic(Path(path), data, 0o644)


def read_or_create_secret(path: str | Path, make: Callable[[], bytes]) -> bytes:
    """The secret at ``path``, made with ``make()`` and written 0600 when there is none."""
    found = read_secret(path)
    if found is not None:
        return found
    data = make()
    write_secret(path, data)
    return data
