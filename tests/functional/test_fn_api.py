"""The REST API as salt-api's rest_cherrypy: login, 401s, lowstate, wheel, hook, jobs.

One master with two accepted minions serves the module; the API is HTTPS with its
self-signed certificate. Waits are on the bus or on a stream, with one deadline each.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from api_support import CREDENTIALS, PASSWORD, USER, api_options, base_url, curl_events, http, login

from saltsim.deadline import Deadline
from saltsim.testbed.local import LocalTestbed

pytestmark = pytest.mark.functional

IDS = ("web1", "web2")


@pytest.fixture(scope="module")
def testbed_options() -> dict[str, Any]:
    return api_options(auto_accept=False)


@pytest.fixture(scope="module")
def bed(module_testbed: LocalTestbed) -> LocalTestbed:
    """The module's testbed with ``IDS`` accepted (each pended first) and started."""
    tb = module_testbed
    with tb.listener() as events, tb.client() as client:
        events.subscribe("salt/")
        for minion_id in IDS:
            tb.add_minion(minion_id, grains={"roles": ["web"]})
        pending: set[str] = set()
        deadline = Deadline(30)
        while pending != set(IDS):  # each pends (and retries) until accepted
            pending.add(events.wait_for("salt/auth", deadline.remaining()).data["id"])
        client.key("accept", "web*")
        started: set[str] = set()
        while started != set(IDS):  # in any order: a wait drops what it passes over
            event = events.wait_for("salt/minion/", deadline.remaining())
            if event.tag.endswith("/start"):
                started.add(event.data["id"])
    return tb


@pytest.fixture(scope="module")
def api(bed: LocalTestbed) -> Iterator[httpx.Client]:
    with http(bed) as client:
        client.headers["X-Auth-Token"] = login(client)
        yield client


def saltsim_cli(bed: LocalTestbed, *words: str) -> Any:
    command, *rest = words
    argv = [sys.executable, "-m", "saltsim", command, "-c", str(bed.master_config)]
    done = subprocess.run(
        [*argv, *rest, "--out", "json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(done.stdout)


# -- login -------------------------------------------------------------------------------
def test_login_returns_salt_api_shape_token_header_and_cookie(bed: LocalTestbed) -> None:
    with http(bed) as client:
        reply = client.post("/login", json=CREDENTIALS)
        assert reply.status_code == 200
        (got,) = reply.json()["return"]
        assert list(got) == ["token", "expire", "start", "user", "eauth", "perms"]
        assert (got["user"], got["eauth"]) == (USER, "auto")
        assert got["expire"] - got["start"] == pytest.approx(43200)
        assert reply.headers["X-Auth-Token"] == got["token"]
        assert client.cookies["session_id"] == got["token"]
        # the session cookie alone authenticates, as with rest_cherrypy
        assert client.get("/keys").status_code == 200


def test_login_form_encoded_as_curl_sends_it(bed: LocalTestbed) -> None:
    form = ["-d", f"username={USER}", "-d", f"password={PASSWORD}", "-d", "eauth=auto"]
    done = subprocess.run(
        ["curl", "-sSk", f"{base_url(bed)}/login", *form],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert json.loads(done.stdout)["return"][0]["user"] == USER


@pytest.mark.parametrize("eauth", ["pam", "ldap", "file", "auto"])
def test_any_eauth_name_logs_in_against_the_configured_users(bed: LocalTestbed, eauth: str) -> None:
    """saltsim's users stand in for PAM, LDAP, ...: salt-api tutorials say eauth=pam."""
    with http(bed) as client:
        reply = client.post("/login", json={**CREDENTIALS, "eauth": eauth})
        assert reply.status_code == 200, reply.text
        (got,) = reply.json()["return"]
        assert (got["user"], got["eauth"]) == (USER, eauth)
        wrong = client.post("/login", json={**CREDENTIALS, "eauth": eauth, "password": "x"})
    assert wrong.status_code == 401


@pytest.mark.parametrize(
    "creds",
    [
        {**CREDENTIALS, "password": "wrong"},
        {**CREDENTIALS, "username": "nobody"},
        {**CREDENTIALS, "eauth": ""},
        {"username": USER, "password": PASSWORD},
    ],
    ids=["password", "user", "empty-eauth", "no-eauth"],
)
def test_bad_logins_are_401_with_a_json_error(bed: LocalTestbed, creds: dict[str, str]) -> None:
    with http(bed) as client:
        reply = client.post("/login", json=creds)
    assert reply.status_code == 401
    assert reply.json()["status"] == 401 and reply.json()["error"]
    assert "session_id" not in reply.cookies


# -- 401 -----------------------------------------------------------------------------------
PROTECTED = [
    ("GET", "/keys"),
    ("GET", "/minions"),
    ("GET", "/jobs"),
    ("GET", "/stats"),
    ("GET", "/events"),
    ("GET", "/ws"),
    ("POST", "/"),
    ("POST", "/hook/anything"),
    ("POST", "/logout"),
]


@pytest.mark.parametrize("token", [None, "0" * 40], ids=["no-token", "wrong-token"])
@pytest.mark.parametrize(("method", "path"), PROTECTED)
def test_requests_without_a_live_token_are_401(
    bed: LocalTestbed, method: str, path: str, token: str | None
) -> None:
    headers = {"X-Auth-Token": token} if token else {}
    body = [{"client": "local", "tgt": "*", "fun": "test.ping"}] if method == "POST" else None
    with http(bed) as client:
        reply = client.request(method, path, headers=headers, json=body)
    assert reply.status_code == 401
    assert reply.headers["Content-Type"].startswith("application/json")
    assert reply.json()["status"] == 401
    assert "retry" not in reply.text


def test_query_token_is_refused_unless_enabled(bed: LocalTestbed, api: httpx.Client) -> None:
    token = api.headers["X-Auth-Token"]
    proc, reader = curl_events(f"{base_url(bed)}/events?token={token}", "-i")
    try:
        lines = []
        while (line := reader.line(Deadline(30))) is not None:
            lines.append(line)
    finally:
        proc.kill()
        proc.wait()
    assert lines[0].startswith("HTTP/1.1 401"), lines
    body = json.loads(lines[-1])
    assert body["status"] == 401 and "api_allow_query_token" in body["error"]
    assert not any(line.startswith(("retry:", "tag:", "data:")) for line in lines)


def test_token_in_the_ws_path_is_refused_unless_enabled(bed: LocalTestbed) -> None:
    with http(bed) as client:
        token = login(client)
        upgrade = {"Connection": "Upgrade", "Upgrade": "websocket"}
        upgrade |= {"Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "c2FsdHNpbXNhbHRzaW0="}
        plain = client.get("/ws")  # authenticated by the cookie, but not an upgrade
        client.cookies.clear()
        reply = client.get(f"/ws/{token}", headers=upgrade)
    assert plain.status_code == 400 and "upgrade" in plain.json()["error"]
    assert reply.status_code == 401 and "api_allow_query_token" in reply.json()["error"]


# -- lowstate ------------------------------------------------------------------------------
def test_local_returns_what_saltsim_cmd_returns(bed: LocalTestbed, api: httpx.Client) -> None:
    chunk = {"client": "local", "tgt": "*", "fun": "test.arg", "arg": ["a", 1], "kwarg": {"k": "v"}}
    reply = api.post("/", json=[chunk])
    assert reply.status_code == 200
    (returned,) = reply.json()["return"]
    # test.arg returns the publication's __pub_* keys among its kwargs, as Salt's does:
    # each job has its own jid and user, the rest is the same
    assert _without_pub(returned) == _without_pub(
        saltsim_cli(bed, "cmd", "*", "test.arg", "a", "1", "k=v")
    )
    assert returned["web1"]["args"] == ["a", 1]
    assert returned["web1"]["kwargs"]["__pub_user"] == "saltdev"
    # one object instead of a list, and the other targeting forms
    one = api.post(
        "/", json={"client": "local", "tgt": "web2", "tgt_type": "list", "fun": "test.ping"}
    )
    assert one.json() == {"return": [{"web2": True}]}
    nothing = api.post("/", json={"client": "local", "tgt": "nobody*", "fun": "test.ping"})
    assert nothing.json() == {"return": [{}]}


def test_local_form_encoded_repeats_arg(bed: LocalTestbed, api: httpx.Client) -> None:
    form = "client=local&tgt=web1&fun=test.arg&arg=x&arg=y"
    reply = api.post(
        "/", content=form, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    (returned,) = reply.json()["return"]
    assert _without_pub(returned) == {"web1": {"args": ["x", "y"], "kwargs": {}}}
    assert returned["web1"]["kwargs"]["__pub_arg"] == ["x", "y"]


def _without_pub(returns: dict[str, Any]) -> dict[str, Any]:
    """test.arg returns without the publication's __pub_* keys."""
    return {
        minion: {
            "args": ret["args"],
            "kwargs": {k: v for k, v in ret["kwargs"].items() if not k.startswith("__pub_")},
        }
        for minion, ret in returns.items()
    }


def test_runner_returns_what_saltsim_run_returns(bed: LocalTestbed, api: httpx.Client) -> None:
    chunks = [
        {"client": "runner", "fun": "manage.status"},
        {"client": "runner", "fun": "test.arg", "arg": ["x"], "kwarg": {"k": 1}},
        {"client": "runner", "fun": "test.arg", "top": "level"},  # salt-api: extra keys are kwargs
    ]
    reply = api.post("/", json=chunks)
    assert reply.status_code == 200
    status, targ, extra = reply.json()["return"]
    assert status == saltsim_cli(bed, "run", "manage.status") == {"up": list(IDS), "down": []}
    assert targ == saltsim_cli(bed, "run", "test.arg", "x", "k=1")
    assert extra == {"args": [], "kwargs": {"top": "level"}}


def test_run_takes_credentials_in_each_chunk(bed: LocalTestbed) -> None:
    chunk = {"client": "local", "tgt": "web1", "fun": "test.ping", **CREDENTIALS}
    with http(bed) as client:  # no token, no cookie
        assert client.post("/run", json=[chunk]).json() == {"return": [{"web1": True}]}
        refused = client.post("/run", json=[{**chunk, "password": "wrong"}])
        wheel = {"client": "wheel", "fun": "key.list_all", **CREDENTIALS, "password": "wrong"}
        refused_wheel = client.post("/run", json=[wheel])
    assert refused.status_code == refused_wheel.status_code == 401
    assert refused.json()["error"].startswith("Failed to authenticate!")  # LocalClient's
    assert refused_wheel.json()["error"] == (
        f'Authentication failure of type "eauth" occurred for user {USER}.'
    )


def test_run_takes_a_token_from_post_token_or_login(bed: LocalTestbed) -> None:
    """pepper --run-uri: POST /token (salt-api's bare list), then ``token`` in each chunk;
    a /login token works there too (one kind of token, as in Salt)."""
    with http(bed) as client:
        made = client.post("/token", json={**CREDENTIALS, "eauth": "pam"})
        assert made.status_code == 200 and "session_id" not in made.cookies
        (eauth_token,) = made.json()
        assert list(eauth_token) == ["start", "expire", "name", "eauth", "token"]
        assert (eauth_token["name"], eauth_token["eauth"]) == (USER, "pam")
        session = login(client)
        client.cookies.clear()
        chunks = [
            {"client": "local", "tgt": "web1", "fun": "test.ping", "token": eauth_token["token"]},
            {"client": "runner", "fun": "test.arg", "arg": ["x"], "token": session},
        ]
        reply = client.post("/run", json=chunks)
        # the token also works as the X-Auth-Token of a session endpoint
        keys = client.get("/keys", headers={"X-Auth-Token": eauth_token["token"]})
        missing = client.post("/token", json={"username": USER, "password": PASSWORD})
    assert reply.status_code == 200, reply.text
    assert reply.json()["return"] == [{"web1": True}, {"args": ["x"], "kwargs": {}}]
    assert keys.status_code == 200
    assert missing.status_code == 400
    assert missing.json()["error"] == 'Require "username", "password", and "eauth" params'


def test_post_token_checks_every_chunk_before_it_makes_any(
    bed: LocalTestbed, api: httpx.Client
) -> None:
    def live_tokens() -> int:
        count: int = api.get("/stats").json()["api"]["tokens"]
        return count

    before = live_tokens()
    good, bad = CREDENTIALS, {**CREDENTIALS, "password": "wrong"}
    with http(bed) as client:
        refused = client.post("/token", json=[good, bad])
        assert refused.status_code == 401 and live_tokens() == before
        two = client.post("/token", json=[good, {**good, "eauth": "ldap"}])
    assert [t["eauth"] for t in two.json()] == ["auto", "ldap"]
    assert live_tokens() == before + 2


def test_local_async_answers_the_jid_then_jobs_has_the_returns(
    bed: LocalTestbed, api: httpx.Client
) -> None:
    with bed.listener() as events:
        chunk = {"client": "local_async", "tgt": "web*", "fun": "test.echo", "arg": ["hey"]}
        reply = api.post("/", json=[chunk, {**chunk, "tgt": "nobody*"}])
        assert reply.status_code == 200, reply.text
        job, nothing = reply.json()["return"]
        assert list(job) == ["jid", "minions"] and job["minions"] == list(IDS)
        assert nothing == {}  # LocalClient.run_job's answer when no minion matched
        deadline, answered = Deadline(20), set[str]()
        while answered != set(IDS):  # the returns come in any order
            ret = events.wait_for(f"salt/job/{job['jid']}/ret/", deadline.remaining())
            answered.add(ret.data["id"])
    one = api.get(f"/jobs/{job['jid']}").json()
    assert one["return"] == [{"web1": "hey", "web2": "hey"}]


def test_local_shows_a_minion_that_did_not_answer_as_salt_3008_does(
    bed: LocalTestbed, api: httpx.Client
) -> None:
    """LocalClient.cmd's way in 3008.3 (observed): every targeted minion is in the return,
    a silent one with the line `salt` prints for it."""
    chunk = {"client": "local", "tgt": "web*", "fun": "test.sleep", "arg": [2], "timeout": 0.3}
    reply = api.post("/", json=[chunk])
    (answer,) = reply.json()["return"]
    assert sorted(answer) == ["web1", "web2"]
    for line in answer.values():
        assert line.startswith("Minion did not return. [No response]")


def test_wheel_key_functions(bed: LocalTestbed, api: httpx.Client) -> None:
    with bed.listener() as events:
        events.subscribe("salt/")
        bed.add_minion("pend1")
        events.wait_for("salt/auth", 30)
        listing = api.get("/keys").json()["return"]
        assert listing == {
            "local": [],
            "minions": list(IDS),
            "minions_pre": ["pend1"],
            "minions_rejected": [],
            "minions_denied": [],
        }
        reply = api.post("/", json=[{"client": "wheel", "fun": "key.accept", "match": "pend1"}])
        (wheel,) = reply.json()["return"]
        data = wheel["data"]
        assert data["return"] == {"minions": ["pend1"]} and data["success"] is True
        assert data["fun"] == "wheel.key.accept" and data["user"] == USER
        assert wheel["tag"] == f"salt/wheel/{data['jid']}"
        new = events.wait_for(f"salt/wheel/{data['jid']}/new", 10)
        key = events.wait_for("salt/key", 10)
        ret = events.wait_for(f"salt/wheel/{data['jid']}/ret", 10)
        assert new.data == {
            "fun": "wheel.key.accept",
            "jid": data["jid"],
            "user": USER,
            "fun_args": [{"match": "pend1"}],
        }
        assert key.data["act"] == "accepted" and key.data["id"] == "pend1"
        assert ret.data["return"] == {"minions": ["pend1"]}
        finger = api.get("/keys/pend1").json()["return"]
        assert list(finger) == ["minions"] and len(finger["minions"]["pend1"].split(":")) == 32
        unknown = api.post("/", json={"client": "wheel", "fun": "key.nope"}).json()["return"][0]
        assert unknown["data"]["success"] is False
        bed.stop_minion("pend1")
        gone = api.post("/", json={"client": "wheel", "fun": "key.delete", "match": "pend1"})
        assert gone.json()["return"][0]["data"]["return"] == {"minions": ["pend1"]}


def test_minions_and_jobs_endpoints(bed: LocalTestbed, api: httpx.Client) -> None:
    grains = api.get("/minions").json()["return"][0]
    assert sorted(grains) == list(IDS) and grains["web1"]["roles"] == ["web"]
    assert list(api.get("/minions/web2").json()["return"][0]) == ["web2"]
    with bed.listener() as events:
        started = api.post("/minions", json={"tgt": "web1", "fun": "test.echo", "arg": ["hi"]})
        assert started.status_code == 202
        (job,) = started.json()["return"]
        assert job["minions"] == ["web1"]
        assert started.json()["_links"] == {"jobs": [{"href": f"/jobs/{job['jid']}"}]}
        events.wait_for(f"salt/job/{job['jid']}/ret/web1", 20)
    assert job["jid"] in api.get("/jobs").json()["return"][0]
    one = api.get(f"/jobs/{job['jid']}").json()
    assert one["return"] == [{"web1": "hi"}]
    assert one["info"][0]["Function"] == "test.echo" and one["info"][0]["Minions"] == ["web1"]
    assert api.get("/jobs/20000101000000000000").json()["return"] == [{}]


# -- hook ----------------------------------------------------------------------------------
def test_webhook_fires_netapi_hook(bed: LocalTestbed, api: httpx.Client) -> None:
    with bed.listener() as events:
        events.subscribe("salt/netapi/")
        body = '{"revision": "aa22a3c4", "result": true}'
        reply = api.post(
            "/hook/mycompany/build/success",
            content=body,
            headers={"Content-Type": "application/json", "X-Secret": "F0f"},
        )
        assert reply.json() == {"success": True}
        hooked = events.wait_for("salt/netapi/hook/mycompany/build/success", 10)
        assert list(hooked.data) == ["body", "post", "headers"]
        assert hooked.data["body"] == body
        assert hooked.data["post"] == {"revision": "aa22a3c4", "result": True}
        assert hooked.data["headers"]["X-Secret"] == "F0f"
        api.post("/hook", data={"branch": "main"})
        bare = events.wait_for("salt/netapi/hook", 10)
        assert bare.tag == "salt/netapi/hook"
        assert (bare.data["body"], bare.data["post"]) == ("", {"branch": "main"})


# -- bad input -----------------------------------------------------------------------------
BAD = [
    ("/", "{not json", "Invalid JSON document"),
    ("/", "[]", "empty"),
    ("/", "", "no lowstate"),
    ("/", '[{"client": "nope", "fun": "test.ping"}]', "Invalid client specified: 'nope'"),
    ("/", '[{"client": "local", "fun": "test.ping"}]', "needs tgt"),
    ("/", '[{"client": "runner"}]', "fun must be"),
    ("/", '[{"client": "local", "tgt": "*", "fun": "test.ping"}, 3]', "chunk 1 is int"),
    ("/", '[{"client": "local", "tgt": "*", "fun": "x", "kwarg": []}]', "kwarg"),
    ("/", '[{"client": "local", "tgt": "G@", "tgt_type": "compound", "fun": "x"}]', "local x"),
    ("/login", "{not json", "Invalid JSON document"),
    ("/hook/x", "{not json", "Invalid JSON document"),
]


@pytest.mark.parametrize(("path", "body", "message"), BAD)
def test_malformed_bodies_are_400_and_run_nothing(
    bed: LocalTestbed, api: httpx.Client, path: str, body: str, message: str
) -> None:
    with bed.listener() as events:
        reply = api.post(path, content=body, headers={"Content-Type": "application/json"})
        assert reply.status_code == 400, reply.text
        assert reply.json()["status"] == 400 and message in reply.json()["error"]
        assert [e.tag for e in events.collect() if not e.tag.startswith("saltsim/")] == []


def test_unknown_paths_methods_and_huge_bodies_answer_json(api: httpx.Client) -> None:
    missing = api.get("/nothing-here")
    assert (missing.status_code, missing.json()["status"]) == (404, 404)
    wrong = api.put("/keys")
    assert (wrong.status_code, wrong.json()["status"]) == (405, 405)
    huge = api.post("/hook/big", content=b"x" * (2 << 20), headers={"Content-Type": "text/plain"})
    assert (huge.status_code, huge.json()["status"]) == (413, 413)


# -- logout --------------------------------------------------------------------------------
def test_logout_ends_the_token_and_its_streams(bed: LocalTestbed) -> None:
    with http(bed) as client:
        token = login(client)
        proc, reader = curl_events(f"{base_url(bed)}/events", "-H", f"X-Auth-Token: {token}")
        try:
            deadline = Deadline(30)
            reader.until_line("retry: 400", deadline)
            reply = client.post("/logout", headers={"X-Auth-Token": token})
            assert reply.json() == {"return": "Your token has been cleared"}
            while reader.line(deadline) is not None:
                pass  # the stream ends: the server closed it
            assert proc.wait(10) == 0
        finally:
            proc.kill()
            proc.wait()
        assert client.get("/keys", headers={"X-Auth-Token": token}).status_code == 401
