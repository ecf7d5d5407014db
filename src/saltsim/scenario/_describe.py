"""One line saying what a step does, for the runner's progress lines."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from saltsim.scenario._compact import compact, shorten

if TYPE_CHECKING:
    from saltsim.scenario.spec import Command, Step

__all__ = ["describe_step"]


def _targets(targets: Any) -> str:
    if targets is None:
        return "every targeted minion"
    return "all minions" if targets == "all" else ", ".join(targets)


def _job(command: Command) -> str:
    tgt = ",".join(command.tgt) if isinstance(command.tgt, tuple) else command.tgt
    words = [repr(tgt) if command.tgt_type == "glob" else f"-{command.tgt_type} {tgt!r}"]
    words.append(command.fun)
    words += [compact(a) for a in command.arg]
    words += [f"{k}={compact(v)}" for k, v in command.kwarg.items()]
    return "salt " + " ".join(words)


def describe_step(step: Step) -> str:
    """``kill m2``, ``wait for salt/presence/change {lost: [m2]}``, ``salt '*' test.ping``."""
    from saltsim.scenario.spec import MINION_STEPS

    kind, args = step.kind, step.args
    if kind in MINION_STEPS:
        text = f"{kind} {_targets(args)}"
    elif kind == "present":
        text = f"wait until {_targets(args)} present (salt/presence/present)"
    elif kind == "started":
        text = f"wait for the start event of {_targets(args)}"
    elif kind == "restart_master":
        text = "restart the master"
    elif kind == "wait":
        text = f"wait for {args.describe()}"
    elif kind == "ticks":
        text = f"wait for {args} presence tick{'s' if args != 1 else ''}"
    elif kind == "key":
        text = f"salt-key {args.action} {_targets(args.targets)}"
    elif kind == "keys":
        text = "salt-key -L lists " + compact(dict(args.states))
    elif kind == "cmd":
        text = _job(args)
    elif kind == "cmd_async":
        text = f"{_job(args.command)} --async (jid as ${{{args.jid}}})"
    elif kind == "returns":
        text = f"wait for the returns of ${{{args.jid}}} from {_targets(args.sources)}"
        text += f" but {', '.join(args.excluded)}" if args.excluded else ""
    elif kind == "run":
        text = " ".join(["salt-run", args.fun, *(compact(a) for a in args.arg)])
    elif kind == "fire":
        times = f" x{args.count}" if args.count != 1 else ""
        text = f"fire {args.tag} {compact(args.data)}{times}"
    elif kind == "cloud" and hasattr(args, "profile"):
        text = f"salt-run cloud.profile {args.profile} {' '.join(args.names)}"
    elif kind == "cloud" and hasattr(args, "kind"):
        text = f"cloud-sim fault {compact(args.body())}"
    elif kind == "cloud":
        text = f"salt-run cloud.destroy {' '.join(args.names)}"
    else:
        text = f"{kind} {compact(args)}"
    return shorten(text, 160)
