"""The ``saltsim`` command line."""

# One module per command family, each adding its subcommands to the parser (the package
# docstring above is the parser's description, so the layout is told here instead):
#   bus.py          saltsim bus, saltsim demo
#   master.py       saltsim cmd, run, key (salt, salt-run, salt-key) through a master
#   returns.py      saltsim cmd's job through the master's local command, printed as salt
#   state_event.py  saltsim run state.event, listening on the bus itself
#   event_send.py   saltsim event send (salt-run / salt-call event.send)
#   target.py       where a tool finds the master's bus (-c, --master, the environment)
#   scenario.py     saltsim scenario run|check|diff|list (the harness, imported lazily)
#   fuzz.py         saltsim fuzz (the churn fuzzer, imported lazily)
#   clean.py        saltsim clean (the docker testbed's leftovers)
#   arguments.py    Salt's argument habits (key=value words, YAML-typed values)
#   output.py       Salt's nested outputter and --out json
# The daemon images carry the library and this package but not the harness
# (saltsim.testbed, saltsim.scenario, saltsim.churn): the harness commands import it only
# when they run, and say so when it is missing.

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from saltsim import __version__
from saltsim.cli.bus import add_bus_commands
from saltsim.cli.clean import add_clean_command
from saltsim.cli.event_send import add_event_commands
from saltsim.cli.fuzz import add_fuzz_commands
from saltsim.cli.master import add_master_commands
from saltsim.cli.scenario import add_scenario_commands
from saltsim.errors import SaltsimError
from saltsim.logsetup import setup_logging

__all__ = ["build_parser", "main"]

# What a daemon image leaves out (saltsim.testbed.images copies the library only).
HARNESS = ("saltsim.testbed", "saltsim.scenario", "saltsim.churn")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="saltsim", description=__doc__)
    parser.add_argument("--version", action="version", version=f"saltsim {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_bus_commands(sub)
    add_master_commands(sub)
    add_event_commands(sub)
    add_scenario_commands(sub)
    add_fuzz_commands(sub)
    add_clean_command(sub)
    return parser


def _harness_missing(exc: ModuleNotFoundError) -> bool:
    name = exc.name or ""
    return any(name == top or name.startswith(f"{top}.") for top in HARNESS)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:
        # `saltsim run state.event -l info pretty=True`: argparse ends a command's argument
        # list at its first option; words after the options belong to it too.
        if hasattr(args, "args") and not any(word.startswith("-") for word in extra):
            args.args = [*args.args, *extra]
        else:
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if getattr(args, "log_level", None):
        setup_logging(args.log_level)
    try:
        return int(args.func(args))
    except SaltsimError as exc:
        print(f"saltsim: error: {exc}", file=sys.stderr)
        return 2
    except ModuleNotFoundError as exc:
        if not _harness_missing(exc):
            raise
        print(
            f"saltsim: error: `{args.command}` needs saltsim's test harness ({exc.name}), "
            "which this installation does not carry (a daemon image has the library only): "
            "run it from a source checkout",
            file=sys.stderr,
        )
        return 2
    except BrokenPipeError:
        # The reader went away (`| head`): exit quietly, and point stdout at /dev/null so
        # that Python's own flush at exit does not report the broken pipe a second time.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return 0
    except (KeyboardInterrupt, EOFError):
        return 130
