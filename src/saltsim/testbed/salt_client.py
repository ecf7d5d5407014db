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


def _documents(text: str) -> Any:
    """The JSON salt printed: one document, or (``salt`` without ``--static``) one per
    minion, merged; the text itself if it is not JSON."""
    decoder = json.JSONDecoder()
    found: list[Any] = []
    position = 0
    text = text.strip()
    while position < len(text):
        try:
            value, end = decoder.raw_decode(text, position)
        except json.JSONDecodeError:
            return text
        found.append(value)
        position = end
        while position < len(text) and text[position].isspace():
            position += 1
    if not found:
        return None
    if len(found) > 1 and all(isinstance(v, dict) for v in found):
        return {k: v for item in found for k, v in item.items()}
    return found[0]


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
        return _documents(stdout)

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
        """``salt --out json``: the returns by id (and no ``expected`` list: the salt CLI
        does not print it). Not ``--static``: in 3008 that runs the job as a 100% batch
        (a test.ping job first, then the job under salt/batch/* events)."""
        target = ",".join(tgt) if isinstance(tgt, list) else tgt
        wait = int(max(1, round(timeout or self.timeout)))
        argv = ["salt", "--out", "json", "-t", str(wait), *_TGT_FLAGS[tgt_type]]
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
