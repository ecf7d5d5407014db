"""The ``saltsim`` command line."""

from __future__ import annotations

import argparse
import faulthandler
import json
import os
import signal
import socket
import sys
import time
from collections.abc import Sequence

from saltsim._cli_event_send import add_event_commands
from saltsim._cli_fuzz import add_fuzz_commands
from saltsim._cli_master import add_master_commands
from saltsim._cli_scenario import add_scenario_commands
from saltsim.bus import EventBus
from saltsim.client import EventClient
from saltsim.config import BusConfig, load_config
from saltsim.daemon import setup_logging
from saltsim.errors import SaltsimError

__all__ = ["main"]


def _add_bus_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-c", "--config", help="YAML file of bus options")
    parser.add_argument(
        "--pull",
        help="address events come in on (default: ipc:// master_event_pull.ipc in the "
        "per-user sock_dir, 0700; a tcp:// address is open to every local user)",
    )
    parser.add_argument(
        "--pub", help="address listeners subscribe to (default: master_event_pub.ipc beside it)"
    )
    parser.add_argument("--dialect", choices=["3008", "3006"], help="Salt version to imitate")
    parser.add_argument("--hwm", type=int, help="frames queued per subscriber before drops")


def _bus_config(args: argparse.Namespace) -> BusConfig:
    return load_config(
        BusConfig,
        args.config,
        pull_address=args.pull,
        pub_address=args.pub,
        dialect=args.dialect,
        hwm=args.hwm,
    )


def cmd_bus(args: argparse.Namespace) -> int:
    """Serve the bus in the foreground; print addresses, then counters on exit.

    SIGTERM and SIGINT end the loop through a wakeup fd the bus polls: nothing is
    raised into the middle of a frame, and ``faulthandler`` dumps every thread's stack
    on SIGUSR1, for a bus that ever seems stuck.
    """
    cfg = _bus_config(args)
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    bus = EventBus(cfg.pull_address, cfg.pub_address, dialect=cfg.dialect, hwm=cfg.hwm)
    wake_r, wake_w = socket.socketpair()
    try:
        for end in (wake_r, wake_w):
            end.setblocking(False)
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda signum, frame: None)
        signal.set_wakeup_fd(wake_w.fileno())
        pull, pub = bus.bind()
        print(json.dumps({"pull": pull, "pub": pub, "bus_id": bus.bus_id}), flush=True)
        bus.run(signal_fd=wake_r.fileno())
    finally:
        signal.set_wakeup_fd(-1)
        wake_r.close()
        wake_w.close()
        bus.close()
    print(json.dumps(bus.stats.as_dict()), flush=True)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """Bus demo: a bus, a listener and a firer in one process, printing what flows."""
    bus = EventBus("tcp://127.0.0.1:0", "tcp://127.0.0.1:0", dialect=args.dialect or "3008")
    with bus, EventClient(bus.pub_address, bus.pull_address) as client:
        client.wait_ready(10)
        print("saltsim bus demo (the presence scenario arrives with the master and minions)")
        started = time.monotonic()
        for n in range(args.events):
            client.fire_event({"n": n, "id": f"minion-{n % 3}"}, f"salt/demo/{n % 3}")
        for _ in range(args.events):
            event = client.wait_for("salt/demo/", timeout=10)
            print(f"{event.tag}\t{json.dumps(event.full, sort_keys=True)}")
        took = time.monotonic() - started
        print(
            f"{args.events} events, lost={client.lost}, bad={client.counters.bad_frames}, "
            f"{took * 1000:.1f} ms"
        )
        return 0 if client.lost == 0 else 1


def cmd_clean(args: argparse.Namespace) -> int:
    """Remove every saltsim container, network and volume, found by the session label."""
    from saltsim.testbed._engine import EngineUnavailableError
    from saltsim.testbed.docker_backend import clean

    try:
        removed = clean()
    except EngineUnavailableError as exc:
        print(f"saltsim: nothing to clean: {exc}", file=sys.stderr)
        return 0
    print(", ".join(f"{count} {kind}" for kind, count in removed.items()) + " removed")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="saltsim", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    bus = sub.add_parser("bus", help="run the master event bus in the foreground")
    _add_bus_options(bus)
    bus.set_defaults(func=cmd_bus)
    demo = sub.add_parser("demo", help="fire a few events through a bus and print them")
    demo.add_argument("--events", type=int, default=6)
    demo.add_argument("--dialect", choices=["3008", "3006"])
    demo.set_defaults(func=cmd_demo)
    add_master_commands(sub)
    add_event_commands(sub)
    add_scenario_commands(sub)
    add_fuzz_commands(sub)
    clean = sub.add_parser(
        "clean", help="remove every saltsim container, network and volume (by label)"
    )
    clean.set_defaults(func=cmd_clean)
    return parser


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
    except BrokenPipeError:
        # The reader went away (`| head`): exit quietly, and point stdout at /dev/null so
        # that Python's own flush at exit does not report the broken pipe a second time.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return 0
    except (KeyboardInterrupt, EOFError):
        return 130
