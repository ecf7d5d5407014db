"""Run the bus as its own process (as Salt's EventPublisher), for tests and tools."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
from typing import Any

__all__ = ["BusProcess"]


class BusProcess:
    """``saltsim bus`` in a child process; a context manager that always reaps it.

    Ports default to 0 (free ports on 127.0.0.1); the real addresses come from the
    child's first stdout line, read with one deadline.
    """

    def __init__(
        self,
        pull_address: str = "tcp://127.0.0.1:0",
        pub_address: str = "tcp://127.0.0.1:0",
        *,
        dialect: str = "3008",
        hwm: int | None = None,
        start_timeout: float = 20.0,
    ) -> None:
        self.argv = [
            sys.executable,
            "-m",
            "saltsim",
            "bus",
            "--pull",
            pull_address,
            "--pub",
            pub_address,
            "--dialect",
            dialect,
        ]
        if hwm is not None:
            self.argv += ["--hwm", str(hwm)]
        self.start_timeout = start_timeout
        self.proc: subprocess.Popen[str] | None = None
        self.pull_address = ""
        self.pub_address = ""
        self.final_stats: dict[str, Any] = {}

    def start(self) -> BusProcess:
        self.proc = subprocess.Popen(
            self.argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        lines: list[str] = []
        reader = threading.Thread(target=lambda: lines.append(self._stdout().readline()))
        reader.start()
        reader.join(self.start_timeout)
        if not lines or not lines[0]:
            self.kill()
            err = self.proc.stderr.read() if self.proc.stderr else ""
            raise RuntimeError(
                f"bus process did not report ready within {self.start_timeout}s; stderr:\n{err}"
            )
        ready = json.loads(lines[0])
        self.pull_address, self.pub_address = ready["pull"], ready["pub"]
        return self

    def _stdout(self) -> Any:
        assert self.proc is not None and self.proc.stdout is not None
        return self.proc.stdout

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def stop(self, timeout: float = 30.0) -> dict[str, Any]:
        """SIGTERM, wait, and return the counters the bus printed on its way out."""
        if self.proc is None or self.proc.poll() is not None:
            return self.final_stats
        self.proc.send_signal(signal.SIGTERM)
        try:
            out, _ = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            self.proc.send_signal(signal.SIGUSR1)  # faulthandler: every thread's stack
            try:
                _, err = self.proc.communicate(timeout=5)
            except subprocess.TimeoutExpired:
                self.kill()
                _, err = self.proc.communicate()
            raise RuntimeError(
                f"bus process ignored SIGTERM for {timeout}s; its stacks and stderr:\n{err}"
            ) from exc
        for line in out.splitlines():
            if line.startswith("{"):
                self.final_stats = json.loads(line)
        return self.final_stats

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def __enter__(self) -> BusProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        try:
            self.stop()
        finally:
            self.kill()
