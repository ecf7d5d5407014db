"""``saltsim bus`` and ``saltsim demo``: the master event bus in the foreground, and a demo."""

from __future__ import annotations

import argparse
import faulthandler
import json
import signal
import socket
import time
from typing import Any

from saltsim.bus import EventBus
from saltsim.client import EventClient
from saltsim.config import BusConfig, load_config

__all__ = ["add_bus_commands", "cmd_bus", "cmd_demo"]


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


def add_bus_commands(sub: Any) -> None:
    bus = sub.add_parser("bus", help="run the master event bus in the foreground")
    _add_bus_options(bus)
    bus.set_defaults(func=cmd_bus)
    demo = sub.add_parser("demo", help="fire a few events through a bus and print them")
    demo.add_argument("--events", type=int, default=6)
    demo.add_argument("--dialect", choices=["3008", "3006"])
    demo.set_defaults(func=cmd_demo)
