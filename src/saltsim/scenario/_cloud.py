"""Reading ``settings.cloud``, ``settings.vms`` and ``cloud`` steps (the runner executes
them through the master's cloud runner and the testbed's fake provider)."""

from __future__ import annotations

from typing import Any

from saltsim.scenario._parse import Reader
from saltsim.scenario._yaml import YMap
from saltsim.scenario.spec import (
    CLOUD_FAULTS,
    CloudCreate,
    CloudDestroy,
    CloudFault,
    CloudSettings,
    minion_id_problem,
)

__all__ = ["parse_cloud_settings", "parse_cloud_step", "parse_vms"]

PROFILE_KEYS = ("image", "size", "preaccept", "delete_key", "minion")
STEP_KEYS = ("profile", "names", "destroy", "fault")


def _names(reader: Reader, value: Any, line: int, what: str) -> tuple[str, ...]:
    names = value if isinstance(value, list) else [value]
    if not names:
        reader.fail(line, f"{what} needs a VM name or a list of VM names")
    for name in names:
        if problem := minion_id_problem(name):
            reader.fail(line, f"{what}: {problem.replace('minion id', 'VM name')}")
    if len(set(names)) != len(names):
        reader.fail(line, f"{what} names a VM twice")
    return tuple(names)


def parse_vms(reader: Reader, value: Any, line: int) -> tuple[str, ...]:
    items = reader.listing(value, line, "settings.vms (a list of VM names)")
    return _names(reader, list(items), line, "settings.vms")


def _profile(reader: Reader, name: Any, value: Any, line: int) -> dict[str, Any]:
    what = f"settings.cloud.profiles.{name}"
    mapping = reader.mapping(value, line, what)
    reader.only_keys(mapping, PROFILE_KEYS, what)
    profile: dict[str, Any] = {}
    for key in ("image", "size"):
        if key not in mapping:
            reader.fail(line, f"{what} needs {key}")
        profile[key] = reader.text(mapping[key], mapping.line_of(key), f"{what}.{key}")
    for key in ("preaccept", "delete_key"):
        if key in mapping:
            profile[key] = reader.boolean(mapping[key], mapping.line_of(key), f"{what}.{key}")
    if "minion" in mapping:
        minion = reader.plain_mapping(mapping["minion"], mapping.line_of("minion"), what)
        if not all(isinstance(key, str) for key in minion):
            reader.fail(mapping.line_of("minion"), f"{what}.minion: option names are strings")
        profile["minion"] = minion
    return profile


def parse_cloud_settings(reader: Reader, value: Any, line: int) -> CloudSettings:
    """``{profiles: {NAME: {image, size, preaccept, delete_key, minion}}, options: {...}}``."""
    mapping = reader.mapping(value, line, "settings.cloud")
    reader.only_keys(mapping, ("profiles", "options"), "settings.cloud")
    if "profiles" not in mapping:
        reader.fail(line, "settings.cloud needs profiles")
    raw = reader.mapping(mapping["profiles"], mapping.line_of("profiles"), "cloud profiles")
    if not raw:
        reader.fail(mapping.line_of("profiles"), "settings.cloud.profiles needs a profile")
    profiles = {}
    for name, body in raw.items():
        if problem := minion_id_problem(name):
            reader.fail(raw.key_line(name), f"cloud profile name: {problem}")
        profiles[name] = _profile(reader, name, body, raw.line_of(name))
    options = reader.plain_mapping(
        mapping.get("options", YMap(0)), mapping.line_of("options"), "settings.cloud.options"
    )
    if not all(isinstance(key, str) for key in options):
        reader.fail(mapping.line_of("options"), "settings.cloud.options: names are strings")
    return CloudSettings(profiles, options)


def _fault(reader: Reader, value: Any, line: int) -> CloudFault:
    mapping = reader.mapping(value, line, "cloud fault")
    reader.only_keys(mapping, ("kind", "count", "rate", "seed"), "cloud fault")
    kind = mapping.get("kind")
    if kind not in CLOUD_FAULTS:
        reader.fail(mapping.line_of("kind"), f"cloud fault kind must be one of {CLOUD_FAULTS}")
    if ("count" in mapping) == ("rate" in mapping):
        reader.fail(line, "cloud fault needs count (the next N creates) or rate (0..1)")
    if "count" in mapping:
        if "seed" in mapping:
            reader.fail(mapping.line_of("seed"), "cloud fault: seed goes with rate, not count")
        count = reader.count(mapping["count"], mapping.line_of("count"), "cloud fault count", 1)
        return CloudFault(kind, count=count)
    rate = mapping["rate"]
    if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 <= rate <= 1:
        reader.fail(mapping.line_of("rate"), "cloud fault rate must be a number from 0 to 1")
    seed = None
    if "seed" in mapping:
        seed = reader.count(mapping["seed"], mapping.line_of("seed"), "cloud fault seed")
    return CloudFault(kind, rate=float(rate), seed=seed)


def parse_cloud_step(
    reader: Reader, value: Any, line: int
) -> CloudCreate | CloudDestroy | CloudFault:
    """``{profile: P, names: [...]}``, ``{destroy: [...]}`` or ``{fault: {...}}``."""
    mapping = reader.mapping(value, line, "cloud")
    reader.only_keys(mapping, STEP_KEYS, "cloud")
    actions = [key for key in ("profile", "destroy", "fault") if key in mapping]
    if len(actions) != 1:
        reader.fail(line, "cloud needs exactly one of profile (with names), destroy, fault")
    if "names" in mapping and actions != ["profile"]:
        reader.fail(mapping.key_line("names"), "cloud names go with profile")
    if actions == ["profile"]:
        profile = reader.text(mapping["profile"], mapping.line_of("profile"), "cloud profile")
        if "names" not in mapping:
            reader.fail(line, "cloud profile needs names: the VMs to create")
        names = _names(reader, mapping["names"], mapping.line_of("names"), "cloud names")
        return CloudCreate(profile, names)
    if actions == ["destroy"]:
        names = _names(reader, mapping["destroy"], mapping.line_of("destroy"), "cloud destroy")
        return CloudDestroy(names)
    return _fault(reader, mapping["fault"], mapping.line_of("fault"))
