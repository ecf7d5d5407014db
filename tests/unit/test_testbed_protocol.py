"""Every testbed backend implements the ``Testbed`` Protocol, proven twice.

mypy proves it statically: each backend class is handed to functions typed with the
Protocol (``BACKENDS``, ``_drive``), so a missing member or a signature that drifted is a
type error in this file. The tests prove it at run time as well: no Protocol member is
missing on any backend, and every method accepts the Protocol's parameters, so a caller
that types against ``Testbed`` never reaches for something a backend lacks.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

import pytest

from saltsim.errors import TestbedError
from saltsim.masterclient import MasterClient
from saltsim.testbed import DockerTestbed, LocalTestbed, SaltTestbed
from saltsim.testbed.base import MasterControl, SaltsimTestbed
from saltsim.testbed.base import Testbed as AnyTestbed  # a Test* name pytest would collect
from saltsim.testbed.salt_client import SaltCli

# The static half: these assignments and calls type-check only if each class implements
# the Protocol it is given to.
BACKENDS: tuple[type[AnyTestbed], ...] = (LocalTestbed, DockerTestbed, SaltTestbed)
SALTSIM_BACKENDS: tuple[type[SaltsimTestbed], ...] = (LocalTestbed, DockerTestbed)
CLIENTS: tuple[type[MasterControl], ...] = (MasterClient, SaltCli)


def _drive(bed: AnyTestbed) -> str:
    """A caller of the Protocol, as the scenario runner is one."""
    return bed.backend


def _drive_saltsim(bed: SaltsimTestbed) -> MasterClient:
    """A caller that needs saltsim's own master client, as the churn fuzzer does."""
    return bed.client()


def _control(client: MasterControl) -> dict[str, list[str]]:
    with client:
        return client.key("list")


def _every_backend_is_a_testbed(
    local: LocalTestbed, docker: DockerTestbed, salt: SaltTestbed, cli: SaltCli
) -> None:
    """Never called: mypy checks its body."""
    _drive(local)
    _drive(docker)
    _drive(salt)
    _drive_saltsim(local)
    _drive_saltsim(docker)
    _control(local.client())
    _control(salt.client())
    _control(cli)


# The run-time half.
_DUNDERS = {"__enter__", "__exit__"}  # the Protocol's own dunders; Protocol adds others


def protocol_members(protocol: type) -> dict[str, Any]:
    """The members a Protocol declares (its bases' too): methods, properties, attributes."""
    members: dict[str, Any] = {}
    for klass in reversed(protocol.__mro__):
        if klass is Protocol or not getattr(klass, "_is_protocol", False):
            continue
        for name in vars(klass).get("__annotations__", {}):
            members[name] = None  # a data attribute
        for name, value in vars(klass).items():
            if not name.startswith("_") or name in _DUNDERS:
                members[name] = value
    return members


def accepts(implementation: Any, declared: Any) -> list[str]:
    """What ``implementation`` does not accept of ``declared``'s parameters."""
    given = inspect.signature(implementation).parameters
    kinds = {p.kind for p in given.values()}
    problems = []
    for name, param in inspect.signature(declared).parameters.items():
        if name == "self" or param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            if param.kind == param.VAR_KEYWORD and param.VAR_KEYWORD not in kinds:
                problems.append(f"**{name}")
            continue
        mine = given.get(name)
        if mine is None:
            if param.kind == param.KEYWORD_ONLY and param.VAR_KEYWORD in kinds:
                continue
            problems.append(name)
        elif param.default is not param.empty and mine.default is param.empty:
            problems.append(f"{name} (the Protocol gives it a default)")
    return problems


@pytest.fixture
def beds(tmp_path: Path) -> Iterator[list[AnyTestbed]]:
    """One unstarted testbed of each backend (nothing runs: no process, no engine)."""
    made: list[AnyTestbed] = []
    try:
        made.append(LocalTestbed(tmp_path / "local"))
        made.append(DockerTestbed())
        made.append(SaltTestbed())
        yield made
    finally:
        for bed in made:
            bed.close()


def test_the_protocol_lists_what_callers_use() -> None:
    members = protocol_members(AnyTestbed)
    for name in (
        "backend",
        "bus_pub",
        "start",
        "close",
        "__enter__",
        "__exit__",
        "configure_master",
        "client",
        "minion_exit_code",
        "start_cloud",
        "cloud_url_host",
    ):
        assert name in members
    assert protocol_members(SaltsimTestbed).keys() == members.keys()


@pytest.mark.parametrize("backend", BACKENDS, ids=lambda cls: cls.__name__)
def test_no_member_is_missing(backend: type[AnyTestbed], beds: list[AnyTestbed]) -> None:
    (bed,) = [b for b in beds if type(b) is backend]
    missing, unfit = [], []
    for name, declared in protocol_members(AnyTestbed).items():
        try:
            found = inspect.getattr_static(bed, name)  # no property is run
        except AttributeError:
            missing.append(name)
            continue
        if isinstance(declared, property):
            if not isinstance(found, property):
                unfit.append(f"{name}: not a property")
        elif callable(declared):
            problems = accepts(getattr(bed, name), getattr(AnyTestbed, name))
            unfit += [f"{name}: does not accept {p}" for p in problems]
    assert not missing, f"{backend.__name__} lacks {missing}"
    assert not unfit, f"{backend.__name__}: {unfit}"


@pytest.mark.parametrize("backend", BACKENDS, ids=lambda cls: cls.__name__)
def test_the_backend_names_itself(backend: type[AnyTestbed], beds: list[AnyTestbed]) -> None:
    (bed,) = [b for b in beds if type(b) is backend]
    assert _drive(bed) in ("local", "docker", "salt")
    assert bed.dialect == "3008"
    assert bed.bus_pub and bed.bus_pull


@pytest.mark.parametrize("client", CLIENTS, ids=lambda cls: cls.__name__)
def test_both_master_clients_offer_the_control(client: type[MasterControl]) -> None:
    for name, declared in protocol_members(MasterControl).items():
        found = getattr(client, name, None)
        assert callable(found), f"{client.__name__} lacks {name}"
        assert not accepts(found, declared), f"{client.__name__}.{name}"


def test_configure_master_adds_settings_and_refuses_what_the_backend_decided(
    beds: list[AnyTestbed],
) -> None:
    local, docker, salt = beds
    for bed in beds:
        bed.configure_master(cloud_profiles={"small": {"size": "s"}})
    assert isinstance(local, LocalTestbed) and isinstance(docker, DockerTestbed)
    assert isinstance(salt, SaltTestbed)
    for options in (local.master_options, docker.master_options, salt.master_options):
        assert options["cloud_profiles"] == {"small": {"size": "s"}}
    with pytest.raises(TestbedError, match="sock_dir: decided when the testbed was made"):
        local.configure_master(sock_dir="/elsewhere")
    with pytest.raises(TestbedError, match="the docker backend sets pki_dir itself"):
        docker.configure_master(pki_dir="/elsewhere")
