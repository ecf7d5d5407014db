"""salt-key, salt and salt-run inside a real salt-master container, as a ``MasterClient``.

The scenario runner drives the master through ``client()``: ``key``, ``cmd`` and
``runner`` with saltsim's arguments. On real Salt these are Salt's own command lines,
run with ``docker exec`` in the master's container and read back as JSON (``--out
json``), so the bus sees exactly what a Salt user's commands put on it.
"""

from __future__ import annotations

import json
from typing import Any

from saltsim.masterclient import MasterError

__all__ = ["SaltCli", "cli_arg"]

# saltsim's tgt_type -> salt's targeting flag (glob is salt's default).
_TGT_FLAGS = {
    "glob": [],
    "list": ["-L"],
    "grain": ["-G"],
    "pcre": ["-E"],
    "grain_pcre": ["-P"],
    "compound": ["-C"],
}
# salt-key's flags per action, for one id and for every key.
_KEY_FLAGS = {"accept": ("-a", "-A"), "reject": ("-r", "-R"), "delete": ("-d", "-D")}
# salt-key -L's JSON groups -> saltsim's key states.
_KEY_GROUPS = {
    "minions": "accepted",
    "minions_pre": "pending",
    "minions_rejected": "rejected",
    "minions_denied": "denied",
}


def cli_arg(value: Any) -> str:
    """One argument as Salt's command line reads it back (YAML): strings stay as they are,
    anything else is written as JSON (a YAML subset)."""
    return value if isinstance(value, str) else json.dumps(value)


class SaltCli:
    """Salt's command lines in one container (``container``: a docker SDK container)."""

    def __init__(self, container: Any, timeout: float = 30.0) -> None:
        self.container = container
        self.timeout = timeout

    def __enter__(self) -> SaltCli:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def close(self) -> None:
        return None

    def _run(self, argv: list[str], ok_codes: tuple[int, ...] = (0,)) -> Any:
        code, out = self.container.exec_run(argv, demux=True)
        stdout = (out[0] or b"").decode(errors="replace")
        stderr = (out[1] or b"").decode(errors="replace")
        if code not in ok_codes:
            raise MasterError(f"`{' '.join(argv)}` exited {code}: {(stderr or stdout)[-2000:]}")
        if not stdout.strip():
            return None
        try:
            return json.loads(stdout)
        except json.JSONDecodeError:  # salt prints one JSON document per minion with --static off
            return stdout

    def key(self, fun: str, match: str = "*", **flags: Any) -> dict[str, list[str]]:
        """``list``: the ids per state; ``accept``/``reject``/``delete``: salt-key -y."""
        if fun == "list":
            groups = self._run(["salt-key", "--out", "json", "-L"]) or {}
            return {state: list(groups.get(group, [])) for group, state in _KEY_GROUPS.items()}
        if fun not in _KEY_FLAGS:
            raise MasterError(f"salt-key cannot {fun!r}; known: list, {', '.join(_KEY_FLAGS)}")
        one, every = _KEY_FLAGS[fun]
        argv = ["salt-key", "--out", "json", "-y", every] if match == "*" else None
        argv = argv or ["salt-key", "--out", "json", "-y", one, match]
        if flags.get("include_accepted"):
            argv.append("--include-accepted")
        reply = self._run(argv)
        return reply if isinstance(reply, dict) else {}

    def cmd(
        self,
        tgt: str | list[str],
        fun: str,
        arg: list[Any] | None = None,
        kwarg: dict[str, Any] | None = None,
        tgt_type: str = "glob",
        timeout: float | None = None,
    ) -> tuple[dict[str, Any], list[str]]:
        """``salt --static --out json``: the returns by id (and no ``expected`` list: the
        salt CLI does not print it)."""
        target = ",".join(tgt) if isinstance(tgt, list) else tgt
        wait = int(max(1, round(timeout or self.timeout)))
        argv = ["salt", "--out", "json", "--static", "-t", str(wait), *_TGT_FLAGS[tgt_type]]
        argv += [target, fun, *map(cli_arg, arg or [])]
        argv += [f"{key}={cli_arg(value)}" for key, value in (kwarg or {}).items()]
        # salt exits 1 when a minion did not answer or a function failed, 2 when no
        # minion matched: each is the scenario's to judge from the bus.
        reply = self._run(argv, ok_codes=(0, 1, 2, 11, 20))
        return (reply if isinstance(reply, dict) else {}), []

    def runner(
        self, fun: str, arg: list[Any] | None = None, kwarg: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """``salt-run --out json``: ``{"return": ..., "success": exit code 0}``."""
        argv = ["salt-run", "--out", "json", fun, *map(cli_arg, arg or [])]
        argv += [f"{key}={cli_arg(value)}" for key, value in (kwarg or {}).items()]
        code, out = self.container.exec_run(argv, demux=True)
        text = (out[0] or b"").decode(errors="replace")
        try:
            value: Any = json.loads(text) if text.strip() else None
        except json.JSONDecodeError:
            value = text
        return {"return": value, "success": code == 0, "retcode": code}
