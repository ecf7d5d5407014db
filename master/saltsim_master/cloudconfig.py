"""Cloud providers and profiles of the master config, typed and checked (salt-cloud's
``cloud.providers`` and ``cloud.profiles`` in one file).

```yaml
cloud_providers:
  sim: {driver: saltsim, url: "http://127.0.0.1:8080"}   # + minion_master, minion_master_port
cloud_profiles:
  small: {provider: sim, image: debian-12, size: small, preaccept: true, delete_key: true,
          minion: {heartbeat_interval: 1}}
```

``minion_master`` is the address the new minions use for the master (default: the
master's ``interface``, or its host name when it listens on every interface) and
``minion_master_port`` its request port (default: ``ret_port``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from saltsim.errors import ConfigError

__all__ = ["DRIVERS", "CloudProfile", "CloudProvider", "parse_profiles", "parse_providers"]

DRIVERS = ("saltsim",)  # the cloud-sim HTTP contract (v1)
_PROVIDER_KEYS = ("driver", "url", "minion_master", "minion_master_port")
_PROFILE_KEYS = ("provider", "image", "size", "preaccept", "delete_key", "minion")


@dataclass(frozen=True)
class CloudProvider:
    """One ``cloud_providers`` entry: the provider API's URL, where new minions find the master."""

    name: str
    url: str
    driver: str = "saltsim"
    minion_master: str | None = None  # None: derived from the master's interface
    minion_master_port: int | None = None  # None: the master's ret_port


@dataclass(frozen=True)
class CloudProfile:
    """One ``cloud_profiles`` entry: provider, image, size and the new minion's options."""

    name: str
    provider: str
    image: str
    size: str
    # As salt-cloud: the master makes the new minion's key pair and accepts its public key
    # before the deploy, so the minion signs in accepted (no salt/key event for that).
    preaccept: bool = True
    delete_key: bool = True  # as salt-cloud: destroying a VM deletes its minion's key
    minion: dict[str, Any] = field(default_factory=dict)  # the new minion's options


def _mapping(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(f"{what} must be a mapping, not {type(value).__name__}")
    for key in value:
        if not isinstance(key, str) or not key:
            raise ConfigError(f"{what}: names must be non-empty strings, not {key!r}")
    return value


def _only(value: dict[str, Any], known: tuple[str, ...], what: str) -> None:
    for key in value:
        if key not in known:
            raise ConfigError(f"{what}: unknown key {key!r}; known: {', '.join(known)}")


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{what} must be a non-empty string, not {value!r}")
    return value


def _flag(value: Any, what: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{what} must be true or false, not {value!r}")
    return value


def parse_providers(raw: Any) -> dict[str, CloudProvider]:
    providers = {}
    for name, body in _mapping(raw, "cloud_providers").items():
        what = f"cloud_providers.{name}"
        spec = _mapping(body, what)
        _only(spec, _PROVIDER_KEYS, what)
        driver = _text(spec.get("driver"), f"{what}.driver")
        if driver not in DRIVERS:
            raise ConfigError(f"{what}.driver must be one of {', '.join(DRIVERS)}, not {driver!r}")
        url = _text(spec.get("url"), f"{what}.url")
        if not url.startswith(("http://", "https://")):
            raise ConfigError(f"{what}.url must be an http:// or https:// URL, not {url!r}")
        master = spec.get("minion_master")
        if master is not None:
            _text(master, f"{what}.minion_master")
        port = spec.get("minion_master_port")
        if port is not None and (
            isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536
        ):
            raise ConfigError(f"{what}.minion_master_port must be a port number, not {port!r}")
        providers[name] = CloudProvider(name, url.rstrip("/"), driver, master, port)
    return providers


def parse_profiles(raw: Any, providers: dict[str, CloudProvider]) -> dict[str, CloudProfile]:
    profiles = {}
    for name, body in _mapping(raw, "cloud_profiles").items():
        what = f"cloud_profiles.{name}"
        spec = _mapping(body, what)
        _only(spec, _PROFILE_KEYS, what)
        provider = _text(spec.get("provider"), f"{what}.provider")
        if provider not in providers:
            known = ", ".join(providers) or "none configured"
            raise ConfigError(
                f"{what}.provider {provider!r} is not in cloud_providers (known: {known})"
            )
        profiles[name] = CloudProfile(
            name,
            provider,
            _text(spec.get("image"), f"{what}.image"),
            _text(spec.get("size"), f"{what}.size"),
            _flag(spec.get("preaccept", True), f"{what}.preaccept"),
            _flag(spec.get("delete_key", True), f"{what}.delete_key"),
            dict(_mapping(spec.get("minion", {}), f"{what}.minion")),
        )
    return profiles
