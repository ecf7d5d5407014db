"""``saltsim cmd``'s job: the master's ``local`` command, printed as Salt 3008's ``salt``.

The master publishes and waits for the returns itself (the ``local`` command salt-api's
``local`` client runs too), so the CLI needs only the request port: no listener on the
bus, no probe of its own there for other watchers to see. What ``salt`` prints, observed
on Salt 3008.3 (``salt -L up,down,nokey test.ping``):

- the returns, then a line for each minion that did not return: a targeted one that did
  not answer in time, then each listed id with no accepted key, each group sorted
  (``Minion did not return. [No response]`` and how to look the job up later, or
  ``[Not connected]`` for a known minion that is not connected); then ``ERROR: Minions
  returned with non-zero exit code`` on stderr and exit 1, as for a failed return;
- a target no accepted minion matches: ``No minions matched the target. No command was
  sent, no jid was assigned.``, ``ERROR: No return received`` on stderr, exit 2.
"""

from __future__ import annotations

import sys
from typing import Any

from saltsim.cli.output import render
from saltsim.masterclient import MasterClient

__all__ = ["NO_MATCH", "local", "show"]

NO_MATCH = "No minions matched the target. No command was sent, no jid was assigned."
# The request's own deadline beyond the returns' wait: the master answers at the wait's end.
_ANSWER_MARGIN = 30.0


def local(
    client: MasterClient,
    tgt: Any,
    fun: str,
    arg: list[Any],
    kwarg: dict[str, Any],
    tgt_type: str,
    timeout: float,
) -> dict[str, Any]:
    """The master's ``local`` answer: ``return``, ``retcode``, ``no_return``, ``minions``."""
    load = {
        "cmd": "local",
        "tgt": tgt,
        "tgt_type": tgt_type,
        "fun": fun,
        "arg": MasterClient.job_args(arg, kwarg),
        "user": "root",
        "timeout": timeout,
    }
    return client.call(load, timeout=timeout + _ANSWER_MARGIN)


def show(reply: dict[str, Any], out: str) -> int:
    """Print a ``local`` answer as ``salt`` does; its exit code."""
    if not reply.get("jid"):
        print(NO_MATCH)
        print("ERROR: No return received", file=sys.stderr)
        return 2
    returned: dict[str, Any] = reply.get("return", {})
    no_return: dict[str, str] = reply.get("no_return", {})
    print(render({**returned, **no_return}, out))
    retcodes: dict[str, int] = reply.get("retcode", {})
    if no_return or any(retcodes.get(m, 0) for m in returned):
        print("ERROR: Minions returned with non-zero exit code", file=sys.stderr)
        return 1
    return 0
