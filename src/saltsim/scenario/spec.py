"""The typed form of a scenario file: settings, steps and expectations.

``load_scenario`` (``loader.py``) builds these from YAML; the runner executes
``Scenario.steps`` and ``check`` (``checker.py``) judges ``Scenario.expectations``.
Every step and expectation keeps the line it was written on, for reports.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from saltsim.scenario._backends import check_backend
from saltsim.scenario._errors import ScenarioError
from saltsim.scenario.expectations import Expectation, ExpectEachMinion
from saltsim.stamp import DIALECTS

__all__ = [
    "ALL",
    "BACKENDS",
    "CLOUD_FAULTS",
    "DEFAULT_TIMEOUT",
    "DIALECTS",
    "KEY_ACTIONS",
    "KEY_STATES",
    "MINION_STEPS",
    "MINION_WAITS",
    "STEP_KINDS",
    "WAIT_KINDS",
    "AsyncCommand",
    "CloudCreate",
    "CloudDestroy",
    "CloudFault",
    "CloudSettings",
    "Command",
    "Fire",
    "KeyAction",
    "KeyListing",
    "Returns",
    "RunnerCall",
    "Scenario",
    "Settings",
    "Step",
    "Targets",
    "check_cloud",
    "extend_minions",
    "minion_names",
    "vm_problem",
]

BACKENDS = ("docker", "local", "salt")  # salt: real Salt (testbed/salt_backend.py)
DEFAULT_TIMEOUT = 30.0  # seconds a step may take when it has no `timeout:`
MINION_STEPS = ("start", "stop", "kill", "pause", "unpause", "disconnect", "reconnect")
# Steps that wait for a set of minions: every one present on one salt/presence/present,
# every one's salt/minion/<id>/start seen.
MINION_WAITS = ("present", "started")
# Steps that wait for what the last action caused: they search the recording from where
# that action began, past what an earlier wait matched.
WAIT_KINDS = ("wait", "ticks", "returns", *MINION_WAITS)
STEP_KINDS = (
    *MINION_STEPS,
    *MINION_WAITS,
    "restart_master",
    "wait",
    "key",
    "keys",
    "cmd",
    "cmd_async",
    "returns",
    "run",
    "fire",
    "ticks",
    "cloud",
)
KEY_ACTIONS = ("accept", "reject", "delete")
KEY_STATES = ("accepted", "pending", "rejected", "denied")
CLOUD_FAULTS = ("quota", "create_error", "stuck_pending", "lost_during_boot")
ALL = "all"
_MINION_ID = re.compile(r"^[A-Za-z0-9_.-]+$")

Targets = tuple[str, ...] | Literal["all"]


def minion_names(count: int) -> tuple[str, ...]:
    """``minions: N`` means ``minion-1`` .. ``minion-N``."""
    return tuple(f"minion-{n}" for n in range(1, count + 1))


def extend_minions(kept: Sequence[str], count: int) -> tuple[str, ...]:
    """``--minions N`` on a file's ids: its first N, then ``minion-K`` (K from one past the
    file's count, skipping ids it has) up to N. A file's named minions keep their names, so
    its steps and expectations that name them still hold."""
    names = list(kept[:count])
    number = len(kept)
    while len(names) < count:
        number += 1
        if (name := f"minion-{number}") not in kept:
            names.append(name)
    return tuple(names)


def minion_id_problem(name: Any) -> str | None:
    """Why ``name`` cannot be a minion id of a scenario, or ``None``."""
    if not isinstance(name, str) or not _MINION_ID.match(name):
        return f"minion id {name!r} must be letters, digits, '.', '_' or '-'"
    if name == ALL:
        return "'all' is reserved for 'every minion' and cannot be a minion id"
    return None


@dataclass(frozen=True)
class KeyAction:
    """``key: {accept: m1}``: a salt-key action on some keys (``"all"``: every minion)."""

    action: str  # accept | reject | delete
    targets: Targets


@dataclass(frozen=True)
class KeyListing:
    """``keys: {accepted: [m1], pending: []}``: ``salt-key -L`` must list exactly these
    ids in each state named (states left out are not checked)."""

    states: dict[str, tuple[str, ...]]

    def problem(self, listed: dict[str, list[str]]) -> str | None:
        got = {state: sorted(listed.get(state, [])) for state in self.states}
        want = {state: sorted(ids) for state, ids in self.states.items()}
        return None if got == want else f"salt-key -L lists {got}; the step expects {want}"


@dataclass(frozen=True)
class Command:
    """``cmd: {tgt, fun, arg, kwarg, tgt_type}``: a job, as ``salt TGT FUN ARG...``."""

    tgt: str | tuple[str, ...]
    fun: str
    arg: tuple[Any, ...] = ()
    kwarg: dict[str, Any] = field(default_factory=dict)
    tgt_type: str = "glob"


@dataclass(frozen=True)
class AsyncCommand:
    """``cmd_async: {tgt, fun, ..., jid: NAME}``: publish a job and go on without waiting for
    its returns; its jid is captured as ``NAME`` for later steps (``returns``, ``wait``)."""

    command: Command
    jid: str


@dataclass(frozen=True)
class Returns:
    """``returns: {jid: NAME, from: all | IDS, except: IDS}``: wait until each minion named
    returned for the job a ``cmd_async`` captured as ``NAME`` (``sources`` ``None``: every
    minion the job targeted), but those ``excluded`` (a minion killed mid-job)."""

    jid: str
    sources: Targets | None = None
    excluded: tuple[str, ...] = ()


@dataclass(frozen=True)
class RunnerCall:
    """``run: {fun, arg, kwarg}``: a runner, as ``salt-run FUN ARG...``."""

    fun: str
    arg: tuple[Any, ...] = ()
    kwarg: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Fire:
    """``fire: {tag, data, count}``: ``count`` (default 1) events fired on the master bus."""

    tag: str
    data: dict[Any, Any] = field(default_factory=dict)
    count: int = 1


@dataclass(frozen=True)
class CloudCreate:
    """``cloud: {profile: P, names: [vm1, ...]}``: ``cloud.profile P vm1 ...`` (in parallel)."""

    profile: str
    names: tuple[str, ...]


@dataclass(frozen=True)
class CloudDestroy:
    """``cloud: {destroy: [vm1, ...]}``: ``cloud.destroy vm1 ...``."""

    names: tuple[str, ...]


@dataclass(frozen=True)
class CloudFault:
    """``cloud: {fault: {kind, count}}`` (the next ``count`` creates fail) or ``{kind, rate,
    seed}``: a fault injected into the fake provider (``POST /v1/faults``)."""

    kind: str  # one of CLOUD_FAULTS
    count: int | None = None
    rate: float | None = None
    seed: int | None = None

    def body(self) -> dict[str, Any]:
        """The ``POST /v1/faults`` body."""
        extra = {"count": self.count, "rate": self.rate, "seed": self.seed}
        return {"kind": self.kind, **{k: v for k, v in extra.items() if v is not None}}


@dataclass(frozen=True)
class CloudSettings:
    """``settings.cloud``: the fake provider's options and the profiles the master gets."""

    # profile name -> {image, size, preaccept, delete_key, minion} (cloudconfig.py's keys)
    profiles: dict[str, dict[str, Any]] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)  # to the testbed's start_cloud


@dataclass(frozen=True)
class Step:
    """One step. ``args`` by kind: minion steps ``Targets``; ``restart_master`` ``True``;
    ``wait`` ``Pattern``; ``key`` ``KeyAction``; ``cmd`` ``Command``; ``run`` ``RunnerCall``;
    ``fire`` ``Fire``; ``ticks`` ``int``; ``cloud`` ``CloudCreate``, ``CloudDestroy`` or
    ``CloudFault``; ``present`` and ``started`` ``Targets``; ``cmd_async`` ``AsyncCommand``;
    ``returns`` ``Returns``. ``timeout`` is ``None`` unless written
    (the runner then uses ``DEFAULT_TIMEOUT``)."""

    kind: str
    args: Any
    name: str | None = None
    timeout: float | None = None
    line: int = 0

    def label(self, index: int) -> str:
        """The step's name, or ``#<index> <kind>`` for an unnamed one."""
        return self.name or f"#{index} {self.kind}"

    def describe(self) -> str:
        """What the step does, in one line (the runner's progress lines)."""
        from saltsim.scenario._describe import describe_step

        return describe_step(self)


@dataclass(frozen=True)
class Settings:
    """A scenario's ``settings:``: the backend, the dialect, the minions (and impostors
    and VMs), the options passed to the master and every minion, the cloud."""

    backend: str = "local"  # local | docker | salt
    dialect: str = "3008"  # "3008" | "3006"
    minions: tuple[str, ...] = ()
    master: dict[str, Any] = field(default_factory=dict)  # master options, passed through
    minion: dict[str, Any] = field(default_factory=dict)  # options of every minion
    # handle -> minion id: a minion process claiming that id with its own key (a denied key).
    # Steps name it by its handle; `all` and each_minion never include it.
    impostors: dict[str, str] = field(default_factory=dict)
    # VMs that cloud steps create and that become minions: each_minion covers them after
    # `minions`, but the testbed does not start them and `all` does not include them.
    vms: tuple[str, ...] = ()
    cloud: CloudSettings | None = None

    @property
    def judged(self) -> tuple[str, ...]:
        """The minions each_minion runs for: ``minions``, then ``vms``."""
        return (*self.minions, *self.vms)

    def resolve(self, targets: Targets) -> tuple[str, ...]:
        """The minions (or impostor handles) ``targets`` names (``"all"``: every minion of
        the settings, never an impostor)."""
        return self.minions if targets == ALL else tuple(targets)


def impostor_problem(settings: Settings) -> str | None:
    """Why ``settings.impostors`` clashes with ``settings.minions``, or ``None``."""
    for handle in settings.impostors:
        if handle in settings.minions:
            return f"settings.impostors: handle {handle!r} is also in settings.minions"
    return None


def vm_problem(settings: Settings, name: str) -> str | None:
    """Why a VM cannot be named ``name`` (a testbed minion or impostor has it), or ``None``."""
    if name in settings.minions:
        return f"VM {name!r} is also in settings.minions"
    if name in settings.impostors or name in settings.impostors.values():
        return f"VM {name!r} is also an impostor of the settings"
    return None


def check_targets(source: str, settings: Settings, steps: Sequence[Step]) -> None:
    """Every minion a step names must be in ``settings.minions``; minion steps may also name
    an impostor's handle, ``key`` steps an impostor's id."""
    handles, ids = tuple(settings.impostors), tuple(dict.fromkeys(settings.impostors.values()))
    for step in steps:
        is_key = isinstance(step.args, KeyAction)
        targets = step.args.targets if is_key else step.args
        if isinstance(step.args, Returns):
            sources = step.args.sources
            targets = (*step.args.excluded, *(sources if isinstance(sources, tuple) else ()))
        elif step.kind not in (*MINION_STEPS, *MINION_WAITS, "key"):
            continue
        if targets is None or targets == ALL:
            continue
        extra = ids if is_key else handles
        known = {*settings.minions, *extra}
        for name in targets:
            if name not in known:
                shown = f"settings.minions ({', '.join(settings.minions) or 'none'})"
                if extra:
                    where = "ids" if is_key else "handles"
                    shown += f" or the settings.impostors {where} ({', '.join(extra)})"
                raise ScenarioError(
                    source, step.line, f"minion {name!r} in step {step.kind!r} is not in {shown}"
                )


def check_cloud(
    source: str, settings: Settings, steps: Sequence[Step], vms_line: int | None = None
) -> None:
    """Cloud steps need ``settings.cloud`` and one of its profiles; a VM is not a testbed
    minion; ``destroy`` names a VM an earlier step creates; every ``settings.vms`` entry is
    created by some step."""
    created: set[str] = set()
    for step in steps:
        if step.kind != "cloud":
            continue
        if settings.cloud is None:
            raise ScenarioError(source, step.line, "cloud steps need settings.cloud")
        args = step.args
        if isinstance(args, CloudCreate):
            if args.profile not in settings.cloud.profiles:
                known = ", ".join(settings.cloud.profiles) or "none"
                raise ScenarioError(
                    source,
                    step.line,
                    f"cloud profile {args.profile!r} is not in settings.cloud.profiles "
                    f"(known: {known})",
                )
            for name in args.names:
                if problem := vm_problem(settings, name):
                    raise ScenarioError(source, step.line, problem)
            created.update(args.names)
        elif isinstance(args, CloudDestroy):
            for name in args.names:
                if name not in created:
                    raise ScenarioError(
                        source, step.line, f"cloud destroy: no earlier cloud step creates {name!r}"
                    )
    for vm in settings.vms:
        if vm not in created:
            raise ScenarioError(source, vms_line, f"settings.vms: no cloud step creates {vm!r}")


def check_each_minion(source: str, settings: Settings, expectations: Sequence[Expectation]) -> None:
    """``of`` / ``but`` beside each_minion name minions of the run (``minions`` or ``vms``)."""
    for exp in expectations:
        if not isinstance(exp, ExpectEachMinion):
            continue
        for key, ids in (("of", exp.of or ()), ("but", exp.but)):
            for name in ids:
                if name not in settings.judged:
                    shown = ", ".join(settings.judged) or "none"
                    raise ScenarioError(
                        source,
                        exp.line,
                        f"each_minion {key}: {name!r} is not a minion of the run ({shown})",
                    )


@dataclass(frozen=True)
class Difference:
    """``differences: [{tag, kind, why}]``: what ``scenario diff`` may find between saltsim
    and real Salt for tags matching ``tag`` (a glob over tags and tag families), and why.
    ``kind``: sequence, order or payload (``None``: any)."""

    tag: str
    kind: str | None
    why: str
    line: int = 0


@dataclass(frozen=True)
class Scenario:
    """A loaded scenario file. ``source`` is the path it came from (for messages)."""

    name: str
    description: str
    source: str
    settings: Settings
    steps: tuple[Step, ...]
    expectations: tuple[Expectation, ...]
    differences: tuple[Difference, ...] = ()  # declared saltsim / real Salt differences
    # settings.backend as the file wrote it (None: not written); the command line decides
    # over it, and it over the default (saltsim.cli.scenario.choose_backend).
    file_backend: str | None = None

    def step_named(self, name: str) -> Step:
        for step in self.steps:
            if step.name == name:
                return step
        raise KeyError(name)

    def with_overrides(
        self,
        *,
        dialect: str | None = None,
        minions: int | Sequence[str] | None = None,
        backend: str | None = None,
    ) -> Scenario:
        """A copy with the runner's overrides; ``ScenarioError`` if a step then names a minion
        that no longer exists (``minions: N``: the file's first N ids, then ``minion-K`` up to
        N; a list replaces them)."""
        settings = self.settings
        where = f"{self.source} (override)"
        if dialect is not None:
            if dialect not in DIALECTS:
                raise ScenarioError(
                    where, None, f'dialect must be "3006" or "3008", not {dialect!r}'
                )
            settings = dataclasses.replace(settings, dialect=dialect)
        if backend is not None:
            if backend not in BACKENDS:
                raise ScenarioError(
                    where, None, f"backend must be {', '.join(BACKENDS)}, not {backend!r}"
                )
            settings = dataclasses.replace(settings, backend=backend)
        if minions is not None:
            names = (
                extend_minions(settings.minions, minions)
                if isinstance(minions, int)
                else tuple(minions)
            )
            for name in names:
                if problem := minion_id_problem(name):
                    raise ScenarioError(where, None, problem)
            settings = dataclasses.replace(settings, minions=names)
            if problem := impostor_problem(settings):
                raise ScenarioError(where, None, problem)
        check_targets(self.source, settings, self.steps)
        check_backend(self.source, settings, self.steps)
        check_cloud(self.source, settings, self.steps)
        check_each_minion(self.source, settings, self.expectations)
        return dataclasses.replace(self, settings=settings)
