"""``saltsim event send TAG [JSON | key=value ...]``: salt-run's and salt-call's event.send.

Two routes, chosen as a Salt user would expect from where the command runs:

- next to a running minion (inside a minion container, or ``--minion ID|PKI_DIR``), the
  event goes through the minion's local socket and the bus shows what ``salt-call
  event.send`` shows: a sign-in, the event wrapped as that minion's, its return under a
  jid of its own (docs/EVENTS.md "Minion events");
- anywhere else, or when ``-c`` / ``--master`` / a bus port names a master, it is pushed
  straight onto the master bus, as the master's own event (``salt-run event.send``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import zmq

from saltsim.cli.arguments import KWARG, yamlify
from saltsim.cli.target import add_target_options, bus_target, names_a_master
from saltsim.curve import CurveClient
from saltsim.errors import FrameError, SaltsimError, UsageError
from saltsim.minionipc import MinionIPCError, auto_socket, find_socket, fire_via_minion
from saltsim.wire import pack_frame

__all__ = ["add_event_commands", "parse_payload"]


class NotDelivered(SaltsimError):
    """The event was refused or nobody took it (exit 1, not a usage error)."""


def parse_payload(words: list[str]) -> dict[str, Any]:
    """One optional JSON object first, then ``key=value`` pairs typed as Salt's CLI types
    them (``1`` an int, ``true`` a bool); the pairs update the object."""
    data: dict[str, Any] = {}
    for index, word in enumerate(words):
        match = KWARG.match(word)
        if match:
            data[match.group(1)] = yamlify(match.group(2))
            continue
        if index != 0:
            raise UsageError(f"expected key=value after the JSON payload, not {word!r}")
        try:
            loaded = json.loads(word)
        except json.JSONDecodeError as exc:
            raise UsageError(f"the payload {word!r} is not valid JSON: {exc}") from None
        if not isinstance(loaded, dict):
            raise UsageError(
                f"the payload must be a JSON object (or key=value pairs), "
                f"not {type(loaded).__name__}"
            )
        data.update(loaded)
    return data


def _push(address: str, frame: bytes, timeout: float, curve: CurveClient | None = None) -> bool:
    """Hand one frame to the bus at ``address``; False when no bus took it in time."""
    context = zmq.Context()
    sock = context.socket(zmq.PUSH)
    try:
        if curve is not None:  # a bus over TCP takes only the keys it was given
            curve.apply(sock)
        # IMMEDIATE: queue only on a live connection, so "no bus" is a timeout, not a silent
        # drop at close; LINGER: close waits (bounded) until the frame has left.
        sock.setsockopt(zmq.IMMEDIATE, 1)
        sock.setsockopt(zmq.SNDTIMEO, int(timeout * 1000))
        sock.setsockopt(zmq.LINGER, int(timeout * 1000))
        sock.connect(address)
        try:
            sock.send(frame)
        except zmq.Again:
            return False
        return True
    finally:
        sock.close()
        context.term()


def _send_to_bus(args: argparse.Namespace, tag: str, data: dict[str, Any]) -> int:
    target = bus_target(args)
    if not _push(target.pull, pack_frame(tag, data), args.timeout, target.curve):
        raise NotDelivered(
            f"no bus took the event at {target.pull} within {args.timeout:.1f}s: is the master "
            "running? (name it with -c, --master or --bus-pull-port)"
        )
    print("True")  # salt-run event.send
    return 0


def _send_as_minion(args: argparse.Namespace, path: Path, tag: str, data: dict[str, Any]) -> int:
    reply = fire_via_minion(path, tag, data, args.timeout, [tag, *args.payload])
    if not reply.get("ok"):
        raise NotDelivered(f"event {tag!r} not sent: {reply.get('error')}")
    print("local:\n    True")  # salt-call event.send
    return 0


def cmd_event_send(args: argparse.Namespace) -> int:
    data = parse_payload(args.payload)
    try:
        pack_frame(args.tag, data)
    except FrameError as exc:
        raise UsageError(str(exc)) from None
    if args.minion is not None and names_a_master(args):
        raise UsageError("give either --minion or a master (-c, --master, bus ports), not both")
    try:
        if args.minion is not None:
            return _send_as_minion(args, find_socket(args.minion), args.tag, data)
        local = None if names_a_master(args) else auto_socket()
        if local is not None:
            return _send_as_minion(args, local, args.tag, data)
        return _send_to_bus(args, args.tag, data)
    except (NotDelivered, MinionIPCError) as exc:
        print(f"saltsim: error: {exc}", file=sys.stderr)
        return 1


def add_event_commands(sub: Any) -> None:
    event = sub.add_parser("event", help="event tools: send (salt-run / salt-call event.send)")
    actions = event.add_subparsers(dest="action", required=True, metavar="ACTION")
    send = actions.add_parser(
        "send",
        help="fire an event: as the local minion if one runs here, else on the master bus",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    send.add_argument("-c", "--config", help="the master's YAML config file (fire on its bus)")
    add_target_options(send)
    send.add_argument(
        "--minion",
        metavar="ID|PKI_DIR|SOCKET",
        help="fire as this local minion, through its socket <pki_dir>/../minion.ipc "
        "(default: the minion SALTSIM_PKI_DIR / SALTSIM_ID names, if one runs here)",
    )
    send.add_argument(
        "-t", "--timeout", type=float, default=10.0, help="seconds to wait for delivery (10)"
    )
    send.add_argument("tag")
    # default=[]: argparse counts a nargs="*" positional without a default as required
    # ("the following arguments are required: tag, JSON | key=value").
    send.add_argument("payload", nargs="*", default=[], metavar="JSON | key=value")
    send.set_defaults(func=cmd_event_send)
