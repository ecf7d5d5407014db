"""Scenario files: the language, its loader, and the checker over recorded runs.

The pure half of scenario runs (issue #5): nothing here starts a process or opens a
socket. A runner loads a ``Scenario``, executes its steps against a testbed while
filling a ``RecordedRun``, then calls ``check`` and, on failure, ``render_failure``;
``write_record`` keeps the run so ``read_record`` + ``check`` can judge it again.
The language is documented in ``scenarios/README.md``.
"""

from saltsim.scenario._bus_order import Gap
from saltsim.scenario._errors import ScenarioError
from saltsim.scenario.checker import CheckResult, ExpectationResult, check, describe_loss
from saltsim.scenario.expectations import (
    EXPECTATION_KINDS,
    Expectation,
    ExpectCount,
    ExpectEachMinion,
    ExpectNever,
    ExpectOrder,
    ExpectSequence,
    ExpectUnordered,
    ExpectWithin,
)
from saltsim.scenario.loader import load_scenario, load_scenario_text, parse_pattern
from saltsim.scenario.pattern import ANY, OWN_PREFIX, Pattern
from saltsim.scenario.record import (
    RecordedRun,
    StepMark,
    dumps_record,
    loads_record,
    read_record,
    write_record,
)
from saltsim.scenario.report import expectation_title, render_failure, render_summary
from saltsim.scenario.spec import (
    ALL,
    BACKENDS,
    CLOUD_FAULTS,
    DEFAULT_TIMEOUT,
    KEY_ACTIONS,
    MINION_STEPS,
    STEP_KINDS,
    CloudCreate,
    CloudDestroy,
    CloudFault,
    CloudSettings,
    Command,
    Fire,
    KeyAction,
    KeyListing,
    RunnerCall,
    Scenario,
    Settings,
    Step,
    Targets,
    minion_names,
)
from saltsim.scenario.timeline import render_timeline, write_timeline

__all__ = [
    "ALL",
    "ANY",
    "BACKENDS",
    "CLOUD_FAULTS",
    "DEFAULT_TIMEOUT",
    "EXPECTATION_KINDS",
    "KEY_ACTIONS",
    "MINION_STEPS",
    "OWN_PREFIX",
    "STEP_KINDS",
    "CheckResult",
    "CloudCreate",
    "CloudDestroy",
    "CloudFault",
    "CloudSettings",
    "Command",
    "ExpectCount",
    "ExpectEachMinion",
    "ExpectNever",
    "ExpectOrder",
    "ExpectSequence",
    "ExpectUnordered",
    "ExpectWithin",
    "Expectation",
    "ExpectationResult",
    "Fire",
    "Gap",
    "KeyAction",
    "KeyListing",
    "Pattern",
    "RecordedRun",
    "RunnerCall",
    "Scenario",
    "ScenarioError",
    "Settings",
    "Step",
    "StepMark",
    "Targets",
    "check",
    "describe_loss",
    "dumps_record",
    "expectation_title",
    "load_scenario",
    "load_scenario_text",
    "loads_record",
    "minion_names",
    "parse_pattern",
    "read_record",
    "render_failure",
    "render_summary",
    "render_timeline",
    "write_record",
    "write_timeline",
]
