"""``saltsim run state.event`` and ``saltsim event send`` against a real master and minion."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import pytest
import zmq

from saltsim.client import EventClient
from saltsim.deadline import Deadline
from saltsim.minionipc import socket_path
from saltsim.testbed.local import LocalTestbed, free_ports
from saltsim.wire import decode_data, encode_data

pytestmark = pytest.mark.functional

SALTSIM = [sys.executable, "-m", "saltsim"]
DEADLINE = 30.0


@pytest.fixture(scope="module")
def testbed_options() -> dict[str, Any]:
    """The bus also on TCP with CURVE, as a master container's: tools on "another machine"
    name it with --master and hold the testbed's keys (``bus_tool_env``)."""
    return {"master_options": {"auto_accept": True, "bus_remote": "curve"}}


@pytest.fixture(scope="module")
def bed(module_testbed: LocalTestbed) -> LocalTestbed:
    """The module's testbed with ev1 started."""
    with module_testbed.listener() as events:
        module_testbed.add_minion("ev1")
        events.wait_for("salt/minion/ev1/start", DEADLINE)
    return module_testbed


@pytest.fixture(autouse=True)
def bus_keys(bed: LocalTestbed, monkeypatch: pytest.MonkeyPatch) -> None:
    """The tools this module starts inherit the bus's CURVE keys from the environment."""
    env = bed.bus_tool_env()
    for name in ("SALTSIM_BUS_SERVER_KEY", "SALTSIM_BUS_CLIENT_KEY"):
        monkeypatch.setenv(name, env[name])


@pytest.fixture
def events(bed: LocalTestbed) -> Iterator[EventClient]:
    with bed.listener() as client:
        yield client


def bus_options(bed: LocalTestbed) -> list[str]:
    """How a user on another machine names the master: no config file."""
    return [
        "--master",
        "127.0.0.1",
        "--bus-pub-port",
        str(bed.ports["bus_pub_port"]),
        "--bus-pull-port",
        str(bed.ports["bus_pull_port"]),
    ]


def minion_pki(bed: LocalTestbed) -> Path:
    return bed.workdir / "minions" / "ev1" / "pki"


def _sigint_as_from_a_terminal() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


class Tool:
    """A command in the background; its stdout and stderr read line by line, with deadlines."""

    def __init__(self, argv: list[str], env: dict[str, str] | None = None) -> None:
        self.proc = subprocess.Popen(
            argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
            env={**os.environ, **(env or {})},
            # as from a terminal: a shell without job control (`cmd &` in a script, a CI
            # runner) or an xdist worker hands its children SIGINT ignored, and Ctrl-C could
            # not be tested
            preexec_fn=_sigint_as_from_a_terminal,
        )
        self.out: list[str] = []
        self.err: list[str] = []
        self._lines: queue.Queue[tuple[str, str]] = queue.Queue()
        self._readers = [
            threading.Thread(target=self._read, args=(name, stream, store), daemon=True)
            for name, stream, store in (
                ("out", self.proc.stdout, self.out),
                ("err", self.proc.stderr, self.err),
            )
        ]
        for reader in self._readers:
            reader.start()

    def _read(self, name: str, stream: IO[str] | None, store: list[str]) -> None:
        assert stream is not None
        for line in stream:
            store.append(line)
            self._lines.put((name, line))

    def wait_line(self, stream: str, text: str, timeout: float = DEADLINE) -> str:
        """The first new line of ``stream`` containing ``text``; fails with both outputs."""
        deadline = Deadline(timeout)
        while not deadline.expired:
            try:
                name, line = self._lines.get(timeout=deadline.remaining())
            except queue.Empty:
                break
            if name == stream and text in line:
                return line
        raise AssertionError(f"no {stream} line with {text!r} within {timeout}s:\n{self.report()}")

    def armed(self) -> Tool:
        """Wait until the listener says it provably receives (``-l info``)."""
        self.wait_line("err", "listening on")
        return self

    def finish(self, timeout: float = DEADLINE) -> tuple[int, str, str]:
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"still running after {timeout}s:\n{self.report()}") from None
        for reader in self._readers:
            reader.join(timeout)
        return code, "".join(self.out), "".join(self.err)

    def report(self) -> str:
        return f"stdout:\n{''.join(self.out)}\nstderr:\n{''.join(self.err)}"

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def tools() -> Iterator[list[Tool]]:
    started: list[Tool] = []
    yield started
    for tool in started:
        tool.close()


def watch(
    tools: list[Tool], bed: LocalTestbed, *words: str, env: dict[str, str] | None = None
) -> Tool:
    tool = Tool([*SALTSIM, "run", "state.event", *words, *bus_options(bed), "-l", "info"], env)
    tools.append(tool)
    return tool.armed()


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*SALTSIM, *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
    )


def parse_lines(text: str) -> list[tuple[str, dict[str, Any]]]:
    rows = []
    for line in text.splitlines():
        tag, _, body = line.partition("\t")
        rows.append((tag, json.loads(body)))
    return rows


# -- state.event ---------------------------------------------------------------------------


def test_state_event_glob_count_stops_after_n(
    bed: LocalTestbed, events: EventClient, tools: list[Tool]
) -> None:
    tool = watch(tools, bed, "tagmatch=test/glob/*", "count=2")
    for tag in ("test/other/1", "test/glob/a", "test/glob/b", "test/glob/c"):
        assert events.fire_event({"n": tag[-1]}, tag)
    code, out, _ = tool.finish()
    assert code == 0, tool.report()
    rows = parse_lines(out)
    assert [tag for tag, _ in rows] == ["test/glob/a", "test/glob/b"]
    # the full payload, in the bus's key order, one line each (not pretty)
    assert list(rows[0][1]) == ["n", "_stamp", "_seq"] and rows[0][1]["n"] == "a"
    assert out.count("\n") == 2


def test_state_event_regex_is_a_full_match(
    bed: LocalTestbed, events: EventClient, tools: list[Tool]
) -> None:
    tool = watch(tools, bed, r"test/re/[0-9]+", "1")  # Salt's positional order: tagmatch count
    for tag in ("test/re/x", "test/re/12/more", "test/re/42"):
        assert events.fire_event({}, tag)
    code, out, _ = tool.finish()
    assert code == 0, tool.report()
    assert [tag for tag, _ in parse_lines(out)] == ["test/re/42"]


def test_state_event_prints_text_as_it_is(
    bed: LocalTestbed, events: EventClient, tools: list[Tool]
) -> None:
    """Salt 3008.3's runner prints ``{"name": "café", "e": "€"}`` (observed), where the CLI
    printed ``caf\\u00e9``; pretty too."""
    for words in (["count=1"], ["count=1", "pretty=True"]):
        tool = watch(tools, bed, "tagmatch=test/utf8", *words)
        assert events.fire_event({"name": "café", "e": "€"}, "test/utf8")
        code, out, _ = tool.finish()
        assert code == 0, tool.report()
        assert "café" in out and "€" in out and "\\u" not in out
        assert parse_lines(out.replace("\n    ", " ").replace("\n}", "}"))[0][1]["e"] == "€"


def test_state_event_hides_the_listeners_readiness_probes(
    bed: LocalTestbed, events: EventClient, tools: list[Tool]
) -> None:
    """Every listener proves it receives with a ``saltsim/listener/ready/<uuid>`` probe;
    another tool's starting (here a second listener) put one on the watch."""
    tool = watch(tools, bed, "saltsim/listener/.*|test/probes/end", "count=1")
    with bed.listener() as other:
        assert other.fire_event({}, "test/probes/end")
    code, out, _ = tool.finish()
    assert code == 0, tool.report()
    assert [tag for tag, _ in parse_lines(out)] == ["test/probes/end"]


def test_state_event_pretty_and_config_file(
    bed: LocalTestbed, events: EventClient, tools: list[Tool]
) -> None:
    argv = [*SALTSIM, "run", "-c", str(bed.master_config), "state.event", "-l", "info"]
    tool = Tool([*argv, "tagmatch=test/pretty", "count=1", "pretty=True"])
    tools.append(tool)
    tool.armed()
    assert events.fire_event({"b": [1, 2], "a": {"z": 1, "y": None}}, "test/pretty")
    code, out, _ = tool.finish()
    assert code == 0, tool.report()
    tag, _, body = out.partition("\t")
    payload = json.loads(body)
    assert tag == "test/pretty" and payload["a"] == {"z": 1, "y": None}
    assert body == json.dumps(payload, indent=4, sort_keys=True) + "\n"


def test_state_event_quiet_prints_nothing_and_env_names_the_bus(
    bed: LocalTestbed, events: EventClient, tools: list[Tool]
) -> None:
    env = bed.bus_tool_env()  # SALTSIM_MASTER, the bus ports and keys
    argv = [*SALTSIM, "run", "state.event", "tagmatch=test/quiet/*", "count=2", "quiet=True"]
    tool = Tool([*argv, "-l", "info"], env)
    tools.append(tool)
    tool.armed()
    for n in range(2):
        assert events.fire_event({"n": n}, f"test/quiet/{n}")
    code, out, _ = tool.finish()
    assert (code, out) == (0, ""), tool.report()


def test_state_event_ctrl_c_exits_130_without_traceback(
    bed: LocalTestbed, events: EventClient, tools: list[Tool]
) -> None:
    tool = watch(tools, bed, "tagmatch=test/int")
    assert events.fire_event({}, "test/int")
    tool.wait_line("out", "test/int\t")
    tool.proc.send_signal(signal.SIGINT)
    code, _, err = tool.finish()
    assert code == 130
    assert "Traceback" not in err and "KeyboardInterrupt" not in err


def test_state_event_into_head_exits_quietly(
    bed: LocalTestbed, events: EventClient, tools: list[Tool]
) -> None:
    """``saltsim run state.event | head -3``: when head has gone, the next write ends the
    watcher with status 0 and nothing on stderr."""
    command = " ".join(
        [*SALTSIM, "run", "state.event", "tagmatch=test/head/*", *bus_options(bed), "-l", "info"]
    )
    tool = Tool(["bash", "-o", "pipefail", "-c", f"{command} | head -3"])
    tools.append(tool)
    tool.armed()
    deadline = Deadline(DEADLINE)
    n = 0
    while tool.proc.poll() is None and not deadline.expired:
        assert events.fire_event({"n": n}, f"test/head/{n}")
        n += 1
        if n > 3:
            with contextlib.suppress(subprocess.TimeoutExpired):
                tool.proc.wait(0.05)  # head is gone: the watcher ends at its next write
    code, out, err = tool.finish()
    assert code == 0, tool.report()
    assert [tag for tag, _ in parse_lines(out)] == ["test/head/0", "test/head/1", "test/head/2"]
    assert "listening on" in err and "Error" not in err and "Traceback" not in err


# -- event send ----------------------------------------------------------------------------


def test_event_send_from_the_host_fires_on_the_bus_unwrapped(
    bed: LocalTestbed, events: EventClient
) -> None:
    sent = run(
        "event", "send", "test/host/x", '{"a": 1, "l": [1]}', "b=2", "c=yes", *bus_options(bed)
    )
    assert (sent.returncode, sent.stdout) == (0, "True\n"), sent.stderr
    event = events.wait_for("test/host/x", DEADLINE)
    assert event.data == {"a": 1, "l": [1], "b": 2, "c": True}
    by_config = run("event", "send", "-c", str(bed.master_config), "test/host/y", "k=v")
    assert by_config.returncode == 0, by_config.stderr
    assert events.wait_for("test/host/y", DEADLINE).data == {"k": "v"}


SALT_CALL_RET_KEYS = {
    "cmd", "id", "jid", "return", "retcode", "fun", "fun_args", "arg", "tgt", "tgt_type", "ts",
}  # fmt: skip


def test_event_send_through_a_minion_looks_like_salt_call(
    bed: LocalTestbed, events: EventClient
) -> None:
    """What `salt-call event.send` shows on a real master (docs/EVENTS.md "Minion events"):
    its own sign-in and data refresh, the wrapped event with salt-call's __pub_* keys, and
    its return under a jid the master made, with no `new` before it."""
    events.subscribe("")  # keep every event while waiting for the return
    sent = run("event", "send", "--minion", str(minion_pki(bed)), "test/minion/x", "a=1")
    assert (sent.returncode, sent.stdout) == (0, "local:\n    True\n"), sent.stderr
    ret = events.wait_for("salt/job/", DEADLINE, match_type="startswith")
    seen = [e for e in events.collect() if not e.tag.startswith("saltsim/")]
    seen = [e for e in [*seen, ret] if e.seq is not None and e.seq <= (ret.seq or 0)]
    seen.sort(key=lambda e: e.seq or 0)
    jid = ret.data["jid"]
    assert [e.tag for e in seen][-4:] == [
        "salt/auth",
        "minion/refresh/ev1",
        "test/minion/x",
        f"salt/job/{jid}/ret/ev1",
    ]
    auth, _, event, _ = seen[-4:]
    assert auth.data["act"] == "accept" and auth.data["id"] == "ev1"
    assert list(event.data) == ["id", "cmd", "pretag", "data", "tag", "ts"]
    assert type(event.data["ts"]) is int
    data = event.data["data"]
    assert type(data.pop("__pub_pid")) is int and len(data.pop("__pub_jid")) == 20
    assert event.data | {"ts": 0} == {
        "id": "ev1",
        "cmd": "_minion_event",
        "pretag": None,
        "data": {"a": 1, "__pub_fun": "event.send", "__pub_tgt": "salt-call"},
        "tag": "test/minion/x",
        "ts": 0,
    }
    assert set(ret.data) == SALT_CALL_RET_KEYS and len(jid) == 20 and jid.isdigit()
    assert ret.data | {"ts": 0, "jid": ""} == {
        "cmd": "_return",
        "id": "ev1",
        "jid": "",
        "return": True,
        "retcode": 0,
        "fun": "event.send",
        "fun_args": ["test/minion/x", "a=1"],
        "arg": ["test/minion/x", "a=1"],
        "tgt": "ev1",
        "tgt_type": "glob",
        "ts": 0,
    }
    assert type(ret.data["ts"]) is int
    assert not [e for e in seen if e.tag.startswith(f"salt/job/{jid}/") and e is not ret]
    # next to the minion, as in its container: SALTSIM_PKI_DIR finds it, nothing to name
    auto = run(
        "event",
        "send",
        "test/minion/auto",
        '{"k": "v"}',
        env={"SALTSIM_PKI_DIR": str(minion_pki(bed))},
    )
    assert auto.returncode == 0, auto.stderr
    assert events.wait_for("test/minion/auto", DEADLINE).data["data"]["k"] == "v"


def test_event_send_reserved_tag_goes_through_a_minion_as_in_salt(
    bed: LocalTestbed, events: EventClient
) -> None:
    """Salt 3008 fires a minion's single-tag event whatever the tag (its blacklist is for
    the batched form), so salt-call event.send salt/key reaches the bus, wrapped."""
    sent = run("event", "send", "--minion", str(minion_pki(bed)), "salt/key", "act=accept")
    assert (sent.returncode, sent.stdout) == (0, "local:\n    True\n"), sent.stderr
    event = events.wait_for("salt/key", DEADLINE)
    assert event.data["cmd"] == "_minion_event" and event.data["id"] == "ev1"
    assert event.data["data"]["act"] == "accept"


def test_event_send_saltsim_tag_is_refused_through_a_minion(
    bed: LocalTestbed, events: EventClient
) -> None:
    """saltsim's own bus tags (saltsim/bus/start announces a restart) stay the master's."""
    refused = run("event", "send", "--minion", str(minion_pki(bed)), "saltsim/bus/start")
    assert refused.returncode == 1
    assert refused.stdout == ""
    assert "minions may not fire saltsim's own tag 'saltsim/bus/start'" in refused.stderr
    assert [e.tag for e in events.collect(2.0) if e.tag == "saltsim/bus/start"] == []


def test_event_send_nobody_there(bed: LocalTestbed, tmp_path: Path) -> None:
    (port,) = free_ports(1)
    nobus = run(
        "event", "send", "--master", "127.0.0.1", "--bus-pull-port", str(port), "-t", "0.5", "x/y"
    )
    assert nobus.returncode == 1 and "no bus took the event" in nobus.stderr
    nominion = run("event", "send", "--minion", str(tmp_path), "x/y")
    assert nominion.returncode == 1 and "no minion listens at" in nominion.stderr


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["run", "state.event", "--bogus"], "unrecognized arguments: --bogus"),
        (["run", "state.event", "foo=1"], "unknown argument 'foo'"),
        (["run", "state.event", "count=abc"], "count must be an integer, not 'abc'"),
        (["run", "state.event", "count=0"], "count must be positive"),
        (["run", "state.event", "pretty=maybe"], "pretty must be True or False"),
        (["event", "send", "x/y", "{bad"], "is not valid JSON"),
        (["event", "send", "x/y", "[1, 2]"], "must be a JSON object"),
        (["event", "send", "x/y", "a=1", "{}"], "expected key=value"),
        (["event", "send", ""], "event tag must not be empty"),
        (["event", "send"], "the following arguments are required: tag\n"),  # not the payload
        (["event", "send", "--minion", "m1", "--master", "h", "x/y"], "not both"),
    ],
)
def test_bad_arguments_exit_2(argv: list[str], message: str) -> None:
    done = run(*argv)
    assert done.returncode == 2, done.stderr
    assert message in done.stderr
    assert "Traceback" not in done.stderr


def test_minion_socket_answers_malformed_requests(bed: LocalTestbed) -> None:
    """Bad input at the minion's edge is answered and counted, and the minion goes on."""
    context = zmq.Context()
    sock = context.socket(zmq.REQ)  # a REQ peer is answered as well as a DEALER
    try:
        sock.setsockopt(zmq.LINGER, 0)
        sock.connect(f"ipc://{socket_path(minion_pki(bed))}")
        for body, reason in [
            (b"\xc1garbage", "not valid msgpack"),
            (encode_data({"cmd": "run", "tag": "x/y", "data": {}}), "unknown cmd 'run'"),
            (encode_data({"cmd": "fire", "tag": "", "data": {}}), "must not be empty"),
            (encode_data({"cmd": "fire", "tag": "x/y", "data": [1]}), "must be a map"),
        ]:
            sock.send(body)
            assert sock.poll(int(DEADLINE * 1000)), f"no answer to {body!r}"
            reply = decode_data(sock.recv())
            assert reply["ok"] is False and reason in reply["error"], reply
    finally:
        sock.close()
        context.term()
    sent = run("event", "send", "--minion", str(minion_pki(bed)), "test/minion/after")
    assert sent.returncode == 0, sent.stderr
