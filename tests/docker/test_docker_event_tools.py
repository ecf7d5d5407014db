"""The event tools on the docker stack: state.event on the host and in the master container
see ``saltsim event send`` run inside a minion container (a wrapped minion event) and inside
the master container (a plain bus event)."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import IO, Any

import pytest
import zmq

from saltsim.curve import CurveClient
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

    def wait_line(self, needle: str) -> str:
        """The first stdout line holding ``needle``, within the deadline."""
        deadline = time.monotonic() + DEADLINE
        while True:
            for line in "".join(self.out).splitlines(keepends=True):
                if needle in line:
                    return line
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no line with {needle!r}:\n{self.report()}")
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
    """``saltsim run state.event --master 127.0.0.1 ...`` on the host: only the bus ports,
    and the CURVE keys the testbed made for its tools (in the environment)."""
    argv = [sys.executable, "-m", "saltsim", "run", *WATCH, "--master", "127.0.0.1"]
    argv += ["--bus-pub-port", str(bed.ports["bus_pub_port"])]
    argv += ["--bus-pull-port", str(bed.ports["bus_pull_port"])]
    env = {**os.environ, **bed.bus_tool_env()}
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    return proc, Output.of_process(proc)


def exec_stream(container: Any, argv: list[str]) -> tuple[str, Output]:
    """Run ``argv`` in ``container`` in the background; its exec id and its output."""
    api = container.client.api
    exec_id: str = api.exec_create(container.id, argv, stdout=True, stderr=True)["Id"]
    return exec_id, Output.of_exec(api.exec_start(exec_id, stream=True, demux=True))


def test_state_event_on_host_and_master_sees_event_send_from_minion_and_master() -> None:
    with (
        DockerTestbed(master_options={"auto_accept": True}) as bed,
        bed.recorder() as recorder,
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
                # salt-call's __pub_* keys, when the minion adds them, are not the point here
                data = {k: v for k, v in wrapped["data"].items() if not k.startswith("__pub_")}
                assert (wrapped["id"], wrapped["cmd"], data) == ("dock1", "_minion_event", {"a": 1})
                assert wrapped["pretag"] is None and wrapped["tag"] == "test/docker/minion"
                assert {k: v for k, v in plain.items() if not k.startswith("_")} == {"b": 2}
            assert host.wait(DEADLINE) == 0
            assert master.client.api.exec_inspect(exec_id)["ExitCode"] == 0
        finally:
            if host.poll() is None:
                host.kill()
            host.wait()


# A keyless subscriber inside a minion container: it reads nothing from the bus within a
# bounded wait, and prints how many frames it got.
_MINION_SNOOP = """
import sys, zmq
ctx = zmq.Context()
sub = ctx.socket(zmq.SUB)
sub.setsockopt(zmq.SUBSCRIBE, b"")
sub.connect("tcp://master:4512")
print("armed", flush=True)
got = 0
while sub.poll(int(sys.argv[1])):
    sub.recv()
    got += 1
print("frames", got, flush=True)
"""


def test_bus_needs_the_testbeds_keys_minion_containers_and_keyless_host_tools_get_nothing() -> None:
    """Issue 12 item 4: the bus served anyone who reached 4512/4513, minion containers
    included. Now only the testbed's key pair (CURVE) gets past the handshake."""
    with DockerTestbed(master_options={"auto_accept": True}) as bed, bed.recorder() as recorder:
        assert bed.bus_curve is not None
        bed.add_minion("snoop1")
        recorder.wait_for("salt/minion/snoop1/start", DEADLINE)
        exec_id, snoop = exec_stream(
            bed._container("snoop1"), ["python3", "-c", _MINION_SNOOP, "6000"]
        )
        snoop.wait_line("armed")
        ctx: zmq.Context[Any] = zmq.Context()
        stranger = CurveClient.generate(bed.bus_curve.server_key)
        try:
            host_subs = []
            for curve in (None, stranger):  # on the host: no keys, and keys not handed over
                sub = ctx.socket(zmq.SUB)
                sub.setsockopt(zmq.LINGER, 0)
                sub.setsockopt(zmq.SUBSCRIBE, b"")
                if curve is not None:
                    curve.apply(sub)
                sub.connect(bed.bus_pub)
                host_subs.append(sub)
            for n in range(10):
                assert recorder.fire(f"test/secret/{n}", {"n": n}) == 1
            recorder.wait_for("test/secret/9", DEADLINE)
            for sub in host_subs:
                assert not sub.poll(2000), "a client without the testbed's keys read the bus"
                sub.close(0)
        finally:
            ctx.term()
        assert snoop.wait_line("frames") == "frames 0\n"
        # and the minion container cannot fire onto the bus either (no keys, no connection)
        argv = ["python3", "-m", "saltsim", "event", "send", "--master", "master", "-t", "2"]
        code, out = bed._container("snoop1").exec_run([*argv, "salt/key", "act=accept"])
        assert code == 1 and "no bus took the event" in out.decode(), out.decode()
        assert not [e for e in recorder.events if e.tag == "salt/key"]
        assert bed._container("snoop1").client.api.exec_inspect(exec_id)["ExitCode"] == 0
