"""The event tools on the docker stack: state.event on the host and in the master container
see ``saltsim event send`` run inside a minion container (a wrapped minion event) and inside
the master container (a plain bus event)."""

from __future__ import annotations

import contextlib
import json
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import IO, Any

import pytest

from saltsim.recorder import Recorder
from saltsim.testbed.docker_backend import DockerTestbed

pytestmark = [pytest.mark.docker, pytest.mark.usefixtures("docker_engine")]

DEADLINE = 60.0
WATCH = ["state.event", "tagmatch=test/docker/*", "count=2", "-l", "info"]


class Output:
    """A command's stdout and stderr, collected by threads, waited for with a deadline."""

    def __init__(self) -> None:
        self.out: list[str] = []
        self.err: list[str] = []
        self._news: queue.Queue[None] = queue.Queue()
        self._readers: list[threading.Thread] = []

    @classmethod
    def of_process(cls, proc: subprocess.Popen[bytes]) -> Output:
        output = cls()
        output._start(output._lines, proc.stdout, output.out)
        output._start(output._lines, proc.stderr, output.err)
        return output

    @classmethod
    def of_exec(cls, chunks: Iterator[tuple[bytes | None, bytes | None]]) -> Output:
        """``chunks``: the docker API's demuxed ``(stdout, stderr)`` stream of an exec."""
        output = cls()
        output._start(output._chunks, chunks)
        return output

    def _start(self, target: Any, *args: Any) -> None:
        reader = threading.Thread(target=target, args=args, daemon=True)
        reader.start()
        self._readers.append(reader)

    def _lines(self, stream: IO[bytes], store: list[str]) -> None:
        for line in stream:
            store.append(line.decode())
            self._news.put(None)

    def _chunks(self, chunks: Iterator[tuple[bytes | None, bytes | None]]) -> None:
        for out, err in chunks:
            self.out.append((out or b"").decode())
            self.err.append((err or b"").decode())
            self._news.put(None)

    def armed(self) -> None:
        """Wait for the watcher's ``listening on`` (``-l info``): it provably receives."""
        deadline = time.monotonic() + DEADLINE
        while "listening on" not in "".join(self.err):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"the watcher did not arm:\n{self.report()}")
            with contextlib.suppress(queue.Empty):
                self._news.get(timeout=remaining)

    def rows(self) -> list[tuple[str, dict[str, Any]]]:
        """The printed events, once the command has ended."""
        for reader in self._readers:
            reader.join(DEADLINE)
            assert not reader.is_alive(), f"still running:\n{self.report()}"
        rows = []
        for line in "".join(self.out).splitlines():
            tag, _, body = line.partition("\t")
            rows.append((tag, json.loads(body)))
        return rows

    def report(self) -> str:
        return f"stdout:\n{''.join(self.out)}\nstderr:\n{''.join(self.err)}"


def host_watcher(bed: DockerTestbed) -> tuple[subprocess.Popen[bytes], Output]:
    """``saltsim run state.event --master 127.0.0.1 ...`` on the host: only the bus ports."""
    argv = [sys.executable, "-m", "saltsim", "run", *WATCH, "--master", "127.0.0.1"]
    argv += ["--bus-pub-port", str(bed.ports["bus_pub_port"])]
    argv += ["--bus-pull-port", str(bed.ports["bus_pull_port"])]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return proc, Output.of_process(proc)


def exec_stream(container: Any, argv: list[str]) -> tuple[str, Output]:
    """Run ``argv`` in ``container`` in the background; its exec id and its output."""
    api = container.client.api
    exec_id: str = api.exec_create(container.id, argv, stdout=True, stderr=True)["Id"]
    return exec_id, Output.of_exec(api.exec_start(exec_id, stream=True, demux=True))


def test_state_event_on_host_and_master_sees_event_send_from_minion_and_master() -> None:
    with (
        DockerTestbed(master_options={"auto_accept": True}) as bed,
        Recorder(bed.bus_pub, bed.bus_pull) as recorder,
    ):
        bed.add_minion("dock1")
        recorder.wait_for("salt/minion/dock1/start", DEADLINE)
        host, on_host = host_watcher(bed)
        try:
            on_host.armed()
            master = bed._container("master")
            exec_id, in_master = exec_stream(master, ["python3", "-m", "saltsim", "run", *WATCH])
            in_master.armed()

            # inside the minion container: no option, it finds its minion's socket
            argv = ["python3", "-m", "saltsim", "event", "send", "test/docker/minion", "a=1"]
            code, out = bed._container("dock1").exec_run(argv)
            assert (code, out.decode()) == (0, "local:\n    True\n")
            # inside the master container: no minion there, so onto the bus
            argv = ["python3", "-m", "saltsim", "event", "send", "test/docker/master", '{"b": 2}']
            code, out = master.exec_run(argv)
            assert (code, out.decode()) == (0, "True\n")

            for watcher in (on_host, in_master):
                rows = watcher.rows()
                assert [tag for tag, _ in rows] == ["test/docker/minion", "test/docker/master"]
                wrapped, plain = rows[0][1], rows[1][1]
                assert list(wrapped)[:6] == ["id", "cmd", "pretag", "data", "tag", "ts"]
                assert (wrapped["id"], wrapped["cmd"], wrapped["data"]) == (
                    "dock1",
                    "_minion_event",
                    {"a": 1},
                )
                assert wrapped["pretag"] is None and wrapped["tag"] == "test/docker/minion"
                assert {k: v for k, v in plain.items() if not k.startswith("_")} == {"b": 2}
            assert host.wait(DEADLINE) == 0
            assert master.client.api.exec_inspect(exec_id)["ExitCode"] == 0
        finally:
            if host.poll() is None:
                host.kill()
            host.wait()
