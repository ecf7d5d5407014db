"""``saltsim cmd``, ``saltsim run`` and ``saltsim key``: salt, salt-run and salt-key habits."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from saltsim.cli import returns
from saltsim.cli.arguments import parse_args
from saltsim.cli.credentials import client_token
from saltsim.cli.output import render
from saltsim.cli.state_event import state_event
from saltsim.cli.target import add_target_options, bus_target, connectable, default_client_key
from saltsim.logsetup import add_log_option
from saltsim.masterclient import MasterClient

__all__ = ["add_master_commands"]


def _client(args: argparse.Namespace) -> MasterClient:
    from saltsim_master.config import MasterConfig

    from saltsim.config import load_config

    cfg = load_config(MasterConfig, args.config)
    target = bus_target(args)
    named = "" if args.config else target.master  # --master or SALTSIM_MASTER
    host = args.master or named or connectable(cfg.interface)
    return MasterClient(
        f"tcp://{host}:{cfg.ret_port}",
        client_token(cfg.pki_dir, named, cfg.ret_port),
        bus_pub=target.pub,
        bus_pull=target.pull,
        bus_curve=target.curve,
        timeout=args.timeout if args.timeout else 30.0,
    )


def _print(value: Any, out: str) -> None:
    print(render(value, out))


def cmd_cmd(args: argparse.Namespace) -> int:
    tgt_type = args.tgt_type or "glob"
    fun_args, kwargs = parse_args(args.args)
    with _client(args) as client:
        reply = returns.local(
            client, args.target, args.fun, fun_args, kwargs, tgt_type, args.timeout or 5.0
        )
    return returns.show(reply, args.out)


def cmd_run(args: argparse.Namespace) -> int:
    if args.fun == "state.event":
        # Salt's runner listens on the master's bus; the CLI listens on it directly
        return state_event(args)
    fun_args, kwargs = parse_args(args.args)
    with _client(args) as client:
        reply = client.runner(args.fun, fun_args, kwargs)
    _print(reply["return"], args.out)
    return 0 if reply["success"] else 1


_HEADINGS = {
    "accepted": "Accepted Keys:",
    "denied": "Denied Keys:",
    "pending": "Unaccepted Keys:",
    "rejected": "Rejected Keys:",
}
_ACTIONS = {
    "accept": ("accepted", "The following keys are going to be accepted:", "n/Y"),
    "reject": ("rejected", "The following keys are going to be rejected:", "n/Y"),
    "delete": ("deleted", "The following keys are going to be deleted:", "N/y"),
}


def _listing(keys: dict[str, list[str]]) -> str:
    lines: list[str] = []
    for state in ("accepted", "denied", "pending", "rejected"):
        if state in keys:
            lines.append(_HEADINGS[state])
            lines.extend(keys[state])
    return "\n".join(lines)


def _gen_bus_key(export: bool = False) -> int:
    """Print this user's bus client public key (made once, 0600): what a master lists in
    ``bus_curve_clients`` to let this user's tools onto its bus over TCP; with ``export``,
    as the shell line that hands it to the compose stack's master (a Z85 key holds no
    quote, so the JSON list can be single-quoted)."""
    from saltsim.curve import load_or_create_keypair
    from saltsim.private import private_dir

    path = os.environ.get("SALTSIM_BUS_CLIENT_KEY") or default_client_key()
    private_dir(os.path.dirname(os.path.abspath(path)))
    public, _ = load_or_create_keypair(path)
    key = public.decode()
    print(f"export SALTSIM_BUS_CURVE_CLIENTS='[\"{key}\"]'" if export else key)
    return 0


def cmd_key(args: argparse.Namespace) -> int:
    if args.gen_bus_key or args.export:
        return _gen_bus_key(args.export)
    chosen = [
        (fun, match)
        for fun, match in (
            ("accept", args.accept),
            ("accept", "*" if args.accept_all else None),
            ("reject", args.reject),
            ("reject", "*" if args.reject_all else None),
            ("delete", args.delete),
            ("delete", "*" if args.delete_all else None),
        )
        if match
    ]
    if len(chosen) > 1:
        print("saltsim key: error: give one of -a, -A, -r, -R, -d, -D", file=sys.stderr)
        return 2
    with _client(args) as client:
        if not chosen:
            print(_listing(client.key("list")))
            return 0
        fun, match = chosen[0]
        flags = {
            "include_accepted": args.include_accepted,
            "include_rejected": args.include_rejected,
        }
        targets = client.key(fun, match, dry_run=True, **flags)
        if not targets:
            wanted = {"accept": "unaccepted", "reject": "pending", "delete": ""}[fun]
            print(f"The key glob '{match}' does not match any {wanted} keys.".replace("  ", " "))
            return 1
        done_word, question, default = _ACTIONS[fun]
        print(question)
        print(_listing(targets))
        if not args.yes:
            answer = input(f"Proceed? [{default}] ").strip().lower()
            proceed = answer.startswith("y") or (answer == "" and default == "n/Y")
            if not proceed:
                return 1
        done = client.key(fun, match, **flags)
    for ids in done.values():
        for minion_id in ids:
            print(f"Key for minion {minion_id} {done_word}.")
    return 0


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-c", "--config", help="the master's YAML config file")
    add_target_options(parser)
    parser.add_argument("-t", "--timeout", type=float, help="seconds to wait for returns")
    parser.add_argument("--out", choices=["nested", "json"], default="nested")
    add_log_option(parser)


def add_master_commands(sub: Any) -> None:
    cmd = sub.add_parser("cmd", help="run an execution function on minions (salt)")
    _common(cmd)
    group = cmd.add_mutually_exclusive_group()
    group.add_argument("-L", "--list", dest="tgt_type", action="store_const", const="list")
    group.add_argument("-G", "--grain", dest="tgt_type", action="store_const", const="grain")
    group.add_argument("-E", "--pcre", dest="tgt_type", action="store_const", const="pcre")
    group.add_argument("-C", "--compound", dest="tgt_type", action="store_const", const="compound")
    cmd.add_argument("target")
    cmd.add_argument("fun")
    cmd.add_argument("args", nargs="*", help="arguments; key=value for keyword arguments")
    cmd.set_defaults(func=cmd_cmd)

    run = sub.add_parser(
        "run",
        help="run a runner on the master (salt-run); state.event listens on the bus itself",
    )
    _common(run)
    run.add_argument("fun")
    run.add_argument(
        "args",
        nargs="*",
        help="arguments; key=value for keyword arguments (state.event: tagmatch=GLOB_OR_REGEX "
        "count=N quiet=True pretty=True)",
    )
    run.set_defaults(func=cmd_run)

    key = sub.add_parser("key", help="manage minion keys through the master (salt-key)")
    _common(key)
    key.add_argument("-L", "--list-all", action="store_true", help="list every key")
    key.add_argument("-a", "--accept", metavar="ID")
    key.add_argument("-A", "--accept-all", action="store_true")
    key.add_argument("-r", "--reject", metavar="ID")
    key.add_argument("-R", "--reject-all", action="store_true")
    key.add_argument("-d", "--delete", metavar="ID")
    key.add_argument("-D", "--delete-all", action="store_true")
    key.add_argument("-y", "--yes", action="store_true", help="answer yes to every question")
    key.add_argument("--include-accepted", action="store_true")
    key.add_argument("--include-rejected", action="store_true")
    key.add_argument(
        "--gen-bus-key",
        action="store_true",
        help="print this user's bus CURVE public key (made once), for a master's "
        "bus_curve_clients (SALTSIM_BUS_CURVE_CLIENTS in compose)",
    )
    key.add_argument(
        "--export",
        action="store_true",
        help="with --gen-bus-key: print it as the shell line for compose "
        '(eval "$(saltsim key --gen-bus-key --export)"; docker compose up -d)',
    )
    key.set_defaults(func=cmd_key)
