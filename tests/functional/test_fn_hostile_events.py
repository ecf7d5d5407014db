"""Issue 12 against real processes: one malformed event (a bytes map key, ~1,000 levels of
nesting, sent by a signed-in minion) ends no SSE stream, no ``state.event`` watch and no
recorder; an invalid pcre target is refused at once; a bad grains cache file costs its
entry, not the master's start."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest
import zmq
from api_support import api_options, base_url, curl_events, http, login

from saltsim.crypto import KeyPair, SessionCipher
from saltsim.deadline import Deadline
from saltsim.recorder import Recorder
from saltsim.testbed.local import LocalTestbed
from saltsim.wire import decode_data, encode_data

pytestmark = pytest.mark.functional

DEADLINE = 30.0
SALTSIM = [sys.executable, "-m", "saltsim"]


def _nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = {"k": value}
    return value


class _Intruder:
    """A minion over a raw socket: signs in, then sends any event it likes."""

    def __init__(self, bed: LocalTestbed, minion_id: str = "intruder") -> None:
        self.ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
        self.sock = self.ctx.socket(zmq.DEALER)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.connect(f"tcp://127.0.0.1:{bed.ports['ret_port']}")
        keys, self.ctr = KeyPair.generate(), 0
        self.minion_id = minion_id
        auth = {"cmd": "_auth", "id": minion_id, "pub": keys.public_pem}
        reply = self._ask(encode_data({"enc": "clear", "rid": 0, "load": auth}))
        assert reply["act"] == "accept", reply
        self.cipher = SessionCipher(keys.decrypt(reply["request_key"]))

    def _ask(self, frame: bytes) -> dict[Any, Any]:
        self.sock.send(frame)
        assert self.sock.poll(int(DEADLINE * 1000))
        return decode_data(self.sock.recv())

    def event(self, tag: str, data: Any) -> dict[Any, Any]:
        return self.request({"cmd": "_minion_event", "tag": tag, "data": data})

    def request(self, load: dict[str, Any]) -> dict[Any, Any]:
        self.ctr += 1
        load = {**load, "ctr": self.ctr}
        sealed = self.cipher.seal(load, self.minion_id.encode())
        envelope = {"enc": "aes", "id": self.minion_id, "rid": 1, "load": sealed}
        return self._ask(encode_data(envelope))

    def close(self) -> None:
        self.sock.close(0)
        self.ctx.term()


@pytest.fixture(scope="module")
def testbed_options() -> dict[str, Any]:
    return api_options(auto_accept=True)


def test_one_malformed_event_ends_no_stream_watch_or_recorder(module_testbed: LocalTestbed) -> None:
    malformed = [("intruder/bytes-key", {b"k": 1}), ("intruder/deep", _nested(1000))]
    with http(module_testbed) as client:
        token = login(client)
        proc, sse = curl_events(
            f"{base_url(module_testbed)}/events", "-H", f"X-Auth-Token: {token}"
        )
        watch = subprocess.Popen(
            [
                *SALTSIM,
                "run",
                "-c",
                str(module_testbed.master_config),
                "state.event",
                "count=3",
                "-l",
                "info",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        recorder = Recorder(module_testbed.bus_pub, module_testbed.bus_pull).start()
        intruder = _Intruder(module_testbed)
        try:
            deadline = Deadline(DEADLINE)
            assert sse.line(deadline) == "retry: 400"  # armed
            assert watch.stderr is not None
            while "listening on" not in (line := watch.stderr.readline()):
                assert line, "state.event ended before it listened"
            for tag, data in malformed:
                assert intruder.event(tag, data)["ok"] is True
            assert intruder.event("intruder/after", {"still": "here"})["ok"] is True
            seen = sse.until_tag("intruder/after", deadline)
            recorder.wait_for("intruder/after", DEADLINE)
            out, err = watch.communicate(timeout=DEADLINE)
            streams = client.get("/stats").json()["api"]["streams"]
        finally:
            intruder.close()
            proc.kill()
            proc.wait()
            watch.kill()
            recorder.close()
    by_tag = {event.tag: event.body["data"] for event in seen}
    assert by_tag["intruder/bytes-key"]["data"] == {"b'k'": 1}  # sent, in a safe form
    assert "nested deeper than" in json.dumps(by_tag["intruder/deep"])
    assert by_tag["intruder/after"]["data"] == {"still": "here"}
    assert streams["listening"] is True and streams["made_safe"] >= 2
    assert watch.returncode == 0, err
    printed = [line.partition("\t")[0] for line in out.splitlines()]
    assert printed == ["intruder/bytes-key", "intruder/deep", "intruder/after"]
    written = (
        recorder.write_jsonl(module_testbed.workdir / "timeline.jsonl").read_text().splitlines()
    )
    tags = [json.loads(line)["tag"] for line in written]
    assert tags[-3:] == ["intruder/bytes-key", "intruder/deep", "intruder/after"]


def test_a_return_no_json_can_hold_answers_the_jobs_endpoint(module_testbed: LocalTestbed) -> None:
    """GET /jobs/<jid> once answered 500 for everyone after one return had a bytes key."""
    # its own id: the module's master keeps the first test's "intruder" key, and a second
    # key under that id would be denied
    intruder = _Intruder(module_testbed, "returner")
    try:
        with http(module_testbed) as client:
            token = login(client)
            auth = {"X-Auth-Token": token}
            chunk = {"tgt": "returner", "fun": "test.ping"}
            published = client.post("/minions", json=chunk, headers=auth)
            assert published.status_code == 202, published.text
            jid = published.json()["return"][0]["jid"]
            ret = {"cmd": "_return", "jid": jid, "fun": "test.ping", "success": True}
            ret["return"] = {b"k": 1, "deep": _nested(1000)}
            assert intruder.request(ret)["ok"] is True
            reply = client.get(f"/jobs/{jid}", headers=auth)
    finally:
        intruder.close()
    assert reply.status_code == 200, reply.text
    shown = reply.json()["return"][0]["returner"]
    assert shown["b'k'"] == 1
    assert "nested deeper than" in json.dumps(shown["deep"])


def test_an_invalid_pcre_target_is_refused_at_once(module_testbed: LocalTestbed) -> None:
    with module_testbed.listener() as events:
        module_testbed.add_minion("re1")
        events.wait_for("salt/minion/re1/start", DEADLINE)
    # -t 600: the old master never answered, so the CLI waited out its whole timeout and
    # the subprocess timeout below would fire.
    done = subprocess.run(
        [
            *SALTSIM,
            "cmd",
            "-c",
            str(module_testbed.master_config),
            "-E",
            "(",
            "test.ping",
            "-t",
            "600",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "invalid regular expression '('" in done.stdout + done.stderr


def test_bad_grains_cache_files_cost_their_entry_not_the_start() -> None:
    bed = LocalTestbed(master_options={"auto_accept": True})  # cache files before the start
    grains = bed.workdir / "master" / "cache" / "grains"
    grains.mkdir(parents=True)
    (grains / "empty.json").write_text("")  # the old JSON cache, as a crash left it
    (grains / "empty.p").write_bytes(b"")
    (grains / "cut.p").write_bytes(encode_data({"roles": ["web"] * 50})[:17])
    with bed, bed.listener() as events:
        bed.add_minion("g1", grains={"roles": ["db"]})
        events.wait_for("salt/minion/g1/start", DEADLINE)
        with bed.client() as client:
            returns, _ = client.cmd("roles:db", "test.ping", tgt_type="grain", timeout=DEADLINE)
        assert returns["g1"]["return"] is True
        log = bed.logs("master")
    assert "skipped the cache file" in log
