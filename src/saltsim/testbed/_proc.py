"""A child process with its output in a log file, reaped on every path."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import threading
from pathlib import Path
from typing import Any

from saltsim.deadline import Deadline
from saltsim.errors import TestbedError

__all__ = ["Child", "child_environment"]


def child_environment() -> dict[str, str]:
    """This process's environment without the ``SALTSIM_*`` settings."""
    return {k: v for k, v in os.environ.items() if not k.startswith("SALTSIM_")}


class Child:
    """One process of a local testbed (the master, a minion, cloud-sim): its stderr, and
    its stdout once read, go to ``log_path``; ``stop()`` ends it on every path (SIGTERM,
    SIGCONT for a paused one, then SIGKILL). It runs without the ``SALTSIM_*`` variables of
    the caller's shell: a testbed's components take their settings from the testbed alone
    (a user's ``SALTSIM_AUTO_ACCEPT=false``, exported for a compose stack, would otherwise
    override the testbed's own options)."""

    def __init__(self, name: str, argv: list[str], log_path: Path) -> None:
        self.name, self.argv, self.log_path = name, argv, log_path
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, pump: bool = True) -> None:
        """Start; with ``pump`` stdout goes straight to the log (else call ``wait_line``)."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                self.argv,
                stdout=subprocess.PIPE,
                stderr=log,
                stdin=subprocess.DEVNULL,
                env=child_environment(),
            )
        self._buffer = b""
        if pump:
            threading.Thread(target=self._pump, daemon=True).start()

    def wait_line(self, key: str, timeout: float) -> dict[str, Any]:
        """Read stdout until a JSON line with ``key`` (one deadline); then stdout goes to the
        log file in the background. Fails with the log tail."""
        assert self.proc is not None and self.proc.stdout is not None
        out = self.proc.stdout
        deadline = Deadline(timeout)
        while not deadline.expired:
            ready, _, _ = select.select([out], [], [], deadline.remaining())
            if not ready:
                break
            chunk = os.read(out.fileno(), 65536)
            if not chunk:
                break
            self._buffer += chunk
            with self.log_path.open("ab") as log:
                log.write(chunk)
            for line in self._buffer.decode(errors="replace").splitlines():
                if line.startswith("{") and f'"{key}"' in line:
                    threading.Thread(target=self._pump, daemon=True).start()
                    found: dict[str, Any] = json.loads(line)
                    return found
        raise TestbedError(
            f"{self.name} did not report {key!r} within {timeout}s; log tail:\n{self.tail()}"
        )

    def _pump(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        with self.log_path.open("ab") as log:
            for chunk in iter(lambda: os.read(self.proc.stdout.fileno(), 65536), b""):  # type: ignore[union-attr]
                log.write(chunk)
                log.flush()

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def pid(self) -> int:
        if self.proc is None:
            raise TestbedError(f"{self.name} is not running")
        return self.proc.pid

    def signal(self, signum: int) -> None:
        if not self.alive:
            raise TestbedError(f"{self.name} is not running")
        os.kill(self.pid, signum)

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM (and SIGCONT, in case it is paused), then SIGKILL after ``timeout``."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            os.kill(self.proc.pid, signal.SIGCONT)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"
