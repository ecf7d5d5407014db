"""``saltsim run state.event``: Salt's event watcher, listening on the master bus itself.

Salt's runner prints one line per event, ``<tag>\\t<json of the full payload>``; the CLI
does the same without a round trip through the master, so it runs wherever the bus ports
reach: on the host of a docker stack (``--master 127.0.0.1``), in the master container, in
a minion container (``SALTSIM_MASTER``). Arguments are Salt's, by keyword or in Salt's
positional order ``tagmatch count quiet sock_dir pretty node``.
"""

from __future__ import annotations

import argparse
import fnmatch
import io
import logging
import re
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from saltsim import safejson
from saltsim.cli.arguments import KWARG
from saltsim.cli.target import bus_target
from saltsim.client import READY_TAG, EventClient
from saltsim.deadline import Deadline
from saltsim.errors import UsageError
from saltsim.event import Event

__all__ = ["WatchOptions", "expr_matcher", "format_event", "state_event", "watch_options"]

log = logging.getLogger("saltsim.state.event")

_POSITIONAL = ("tagmatch", "count", "quiet", "sock_dir", "pretty", "node")
# How long the listener tries to prove it receives before it listens regardless.
ARM_TIMEOUT = 5.0


@dataclass(frozen=True)
class WatchOptions:
    """``state.event``'s arguments, read as Salt's runner reads them (``watch_options``)."""

    tagmatch: str = "*"
    count: int = -1  # stop after this many matches; negative: never
    quiet: bool = False
    pretty: bool = False


def _scalar(name: str, text: str) -> Any:
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        raise UsageError(f"state.event: cannot read {name}={text!r}") from None


def watch_options(words: list[str]) -> WatchOptions:
    """Salt's arguments; ``UsageError`` naming the bad one."""
    given: dict[str, str] = {}
    positional = iter(_POSITIONAL)
    for word in words:
        match = KWARG.match(word)
        name, text = (match.group(1), match.group(2)) if match else (next(positional, ""), word)
        if not name:
            raise UsageError(f"state.event: too many arguments at {word!r}")
        if name not in _POSITIONAL:
            raise UsageError(
                f"state.event: unknown argument {name!r}; "
                "takes tagmatch, count, quiet, pretty (and node=master)"
            )
        if name in given:
            raise UsageError(f"state.event: {name} given twice")
        given[name] = text
    if "sock_dir" in given:
        raise UsageError(
            "state.event: sock_dir does not apply: saltsim listens on the bus ports "
            "(name the master with -c, --master or --bus-pub-port)"
        )
    if given.get("node", "master") != "master":
        raise UsageError("state.event: only node=master (the master's bus) is served")
    count = _scalar("count", given.get("count", "-1"))
    if not isinstance(count, int) or isinstance(count, bool):
        raise UsageError(f"state.event: count must be an integer, not {given['count']!r}")
    if count == 0:
        raise UsageError("state.event: count must be positive (or -1 for no limit), not 0")
    flags: dict[str, bool] = {}
    for name in ("quiet", "pretty"):
        value = _scalar(name, given.get(name, "False"))
        if not isinstance(value, bool):
            raise UsageError(f"state.event: {name} must be True or False, not {given[name]!r}")
        flags[name] = value
    return WatchOptions(given.get("tagmatch", "*"), count, flags["quiet"], flags["pretty"])


def expr_matcher(tagmatch: str) -> Callable[[str], bool]:
    """Salt's ``expr_match``: equal, else a glob, else a regular expression of the whole tag."""
    try:
        regex: re.Pattern[str] | None = re.compile(rf"\A(?:{tagmatch})\Z")
    except re.error:
        regex = None  # not a regex: a glob only, as Salt

    def match(tag: str) -> bool:
        if tag == tagmatch or fnmatch.fnmatch(tag, tagmatch):
            return True
        return regex is not None and regex.match(tag) is not None

    return match


def _json_default(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def format_event(event: Event, pretty: bool) -> str:
    """``<tag>\\t<json>``; pretty: indented by 4 with sorted keys, as Salt's runner; text
    as it is (``café``, not ``caf\\u00e9``: Salt 3008.3 prints it so, observed)."""
    # safejson: a bytes map key or deep nesting (any minion can send one) prints in a safe
    # form instead of ending the watch with a TypeError.
    body, _ = safejson.dumps(
        event.full,
        sort_keys=pretty,
        indent=4 if pretty else None,
        ensure_ascii=False,
        other=_json_default,
    )
    return f"{event.tag}\t{body}"


def _probe(tag: str) -> bool:
    """A listener's readiness probe (``saltsim/listener/ready/<uuid>``, this one's or another
    tool's): saltsim's own plumbing, never a Salt event, so never printed."""
    return tag.startswith(f"{READY_TAG}/")


def _arm(client: EventClient) -> str:
    """Prove the listener receives before the first event counts (as ``wait_ready``, whose
    probe's late copies are then skipped); say so at info level. The probe's tag."""
    probe = f"{READY_TAG}/{uuid.uuid4().hex}"
    deadline = Deadline(ARM_TIMEOUT)
    while not deadline.expired:
        if client.fire_event({"probe": probe}, probe) and client.next_event(0.05, probe):
            log.info("listening on %s", client.pub_address)
            return probe
    log.warning(
        "no answer from the bus through %s within %.0fs; listening on %s anyway",
        client.pull_address,
        ARM_TIMEOUT,
        client.pub_address,
    )
    return probe


def state_event(args: argparse.Namespace) -> int:
    """Print matching events until ``count`` of them (or forever); Ctrl-C ends it (130)."""
    options = watch_options(args.args)
    target = bus_target(args)
    match = expr_matcher(options.tagmatch)
    remaining = options.count
    out = sys.stdout
    if isinstance(out, io.TextIOWrapper):
        # A terminal or pipe that cannot show a character gets an escape, not a traceback.
        out.reconfigure(errors="backslashreplace")
    with EventClient(target.pub, target.pull, curve=target.curve) as client:
        _arm(client)
        while True:
            event = client.next_event(3600)
            if event is None or _probe(event.tag) or not match(event.tag):
                continue
            if not options.quiet:
                out.write(format_event(event, options.pretty) + "\n")
                out.flush()
            if remaining > 0:
                remaining -= 1
                if remaining == 0:
                    return 0
