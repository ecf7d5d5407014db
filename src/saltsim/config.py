"""Typed configuration: defaults < YAML file < ``SALTSIM_*`` environment < explicit arguments.

Every component has one dataclass of settings with defaults beside the fields.
``load_config`` builds it in that precedence order; nothing is read at import.
Unknown keys and values of the wrong type are errors that name where they came from.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar, get_type_hints

import yaml

from saltsim.errors import ConfigError
from saltsim.private import default_base
from saltsim.stamp import DIALECTS

__all__ = ["ENV_PREFIX", "BusConfig", "bus_ipc_addresses", "default_sock_dir", "load_config"]

ENV_PREFIX = "SALTSIM_"
T = TypeVar("T")


# Salt's names for the bus's sockets in its sock_dir.
PULL_SOCK, PUB_SOCK = "master_event_pull.ipc", "master_event_pub.ipc"


def default_sock_dir(env: Mapping[str, str] | None = None) -> Path:
    """The default master's sock_dir: ``<per-user base>/master/sock`` (see ``private``)."""
    return default_base(env) / "master" / "sock"


def bus_ipc_addresses(sock_dir: str | Path) -> tuple[str, str]:
    """``(pull, pub)``: the bus's ``ipc://`` sockets in ``sock_dir`` (made 0700 on bind)."""
    folder = Path(sock_dir)
    return f"ipc://{folder / PULL_SOCK}", f"ipc://{folder / PUB_SOCK}"


@dataclasses.dataclass(frozen=True)
class BusConfig:
    """Settings of the master event bus."""

    # Empty: ipc:// sockets in the default master's sock_dir, a 0700 directory, so only
    # this user reaches the bus (Salt: sock_dir). A tcp:// address is open to every local
    # user: only for tests and benchmarks on a machine of your own.
    pull_address: str = ""  # where events come in (Salt: master_event_pull)
    pub_address: str = ""  # where listeners subscribe (master_event_pub)
    dialect: str = "3008"  # "3008" or "3006": the _stamp form and payload differences
    hwm: int = 10_000  # frames queued per subscriber before libzmq drops for it

    def __post_init__(self) -> None:
        pull, pub = bus_ipc_addresses(default_sock_dir())
        object.__setattr__(self, "pull_address", self.pull_address or pull)
        object.__setattr__(self, "pub_address", self.pub_address or pub)
        if self.dialect not in DIALECTS:
            raise ConfigError(f"dialect must be one of {', '.join(DIALECTS)}, not {self.dialect!r}")
        if self.hwm < 1:
            raise ConfigError(f"hwm must be at least 1, not {self.hwm}")


def _coerce(name: str, value: Any, kind: Any, source: str) -> Any:
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if kind is str and isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)  # e.g. dialect: 3006 written without quotes
    check = kind if isinstance(kind, type) else getattr(kind, "__origin__", object)
    if (kind is int and isinstance(value, bool)) or not isinstance(value, check):
        raise ConfigError(
            f"{source}: {name} must be {getattr(kind, '__name__', kind)}, "
            f"not {type(value).__name__} {value!r}"
        )
    return value


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from exc
    try:
        loaded = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{where}: broken YAML: {problem}") from exc
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise ConfigError(f"{path}: expected a mapping of options, not {type(loaded).__name__}")
    return loaded


def load_config(
    cls: type[T],
    path: str | Path | None = None,
    *,
    env: Mapping[str, str] | None = None,
    **overrides: Any,
) -> T:
    """Build ``cls`` from defaults, then ``path``, then ``SALTSIM_<FIELD>``, then overrides."""
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"{cls!r} is not a config dataclass")
    hints = get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    values: dict[str, Any] = {}

    def merge(items: Mapping[str, Any], source: str) -> None:
        for key, value in items.items():
            if key not in hints:
                raise ConfigError(f"{source}: unknown option {key!r}; known: {', '.join(names)}")
            values[key] = _coerce(key, value, hints[key], source)

    if path is not None:
        merge(_read_yaml(Path(path)), str(path))
    environ = os.environ if env is None else env
    from_env: dict[str, Any] = {}
    for name in names:
        raw = environ.get(ENV_PREFIX + name.upper())
        if raw is None:
            continue
        if hints[name] is str:
            from_env[name] = raw
            continue
        try:
            from_env[name] = yaml.safe_load(raw)
        except yaml.YAMLError as exc:
            raise ConfigError(f"{ENV_PREFIX}{name.upper()}: cannot parse {raw!r}") from exc
    merge(from_env, "environment")
    merge({k: v for k, v in overrides.items() if v is not None}, "arguments")
    return cls(**values)
