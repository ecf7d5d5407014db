"""pepper, salt-api's own CLI (PyPI ``salt-pepper``), against the master's REST API.

Run as a Salt user runs it: ``SALTAPI_URL``, ``SALTAPI_USER``, ``SALTAPI_PASS`` and
``SALTAPI_EAUTH=pam`` in the environment, no ``~/.pepperrc``. Without Salt installed
pepper prints the API's JSON as it came, so each test reads exactly what salt-api
would have answered. The failure paths check pepper's exit status and words, and the
API's status and message beside them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from api_support import PASSWORD, USER, api_options, base_url, http

from saltsim.deadline import Deadline
from saltsim.testbed.local import LocalTestbed

pytestmark = pytest.mark.functional

IDS = ("pep1", "pep2")
PEPPER = shutil.which("pepper", path=str(Path(sys.executable).parent)) or shutil.which("pepper")
if PEPPER is None:  # the dev extra installs it: a missing pepper is a broken venv, not a skip
    raise RuntimeError("pepper is not installed: pip install -e '.[dev]' (salt-pepper)")


@pytest.fixture(scope="module")
def testbed_options() -> dict[str, Any]:
    return api_options(auto_accept=True)


@pytest.fixture(scope="module")
def bed(module_testbed: LocalTestbed) -> LocalTestbed:
    with module_testbed.listener() as events:
        events.subscribe("salt/minion/")
        for minion_id in IDS:
            module_testbed.add_minion(minion_id)
        deadline, started = Deadline(30), set[str]()
        while started != set(IDS):  # in any order: a wait drops what it passes over
            event = events.wait_for("salt/minion/", deadline.remaining())
            if event.tag.endswith("/start"):
                started.add(event.data["id"])
    return module_testbed


def pepper(
    bed: LocalTestbed, *argv: str, password: str = PASSWORD, tmp: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """``pepper ARGV`` as a user with eauth pam; its own HOME, so no ~/.pepperrc is read."""
    home = tmp or Path(bed.workdir) / "pepper-home"
    home.mkdir(exist_ok=True)
    env = {
        **os.environ,
        "HOME": str(home),
        "PEPPERRC": str(home / "none"),
        "SALTAPI_URL": base_url(bed),
        "SALTAPI_USER": USER,
        "SALTAPI_PASS": password,
        "SALTAPI_EAUTH": "pam",
    }
    assert PEPPER is not None
    return subprocess.run(
        [PEPPER, "--ignore-ssl-errors", *argv],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )


def returned(done: subprocess.CompletedProcess[str]) -> list[Any]:
    assert done.returncode == 0, (done.stdout, done.stderr)
    body = json.loads(done.stdout)
    assert list(body) == ["return"], body
    listed: list[Any] = body["return"]
    return listed


def test_local_test_ping(bed: LocalTestbed) -> None:
    assert returned(pepper(bed, "*", "test.ping")) == [{"pep1": True, "pep2": True}]


def test_runner_and_wheel_clients(bed: LocalTestbed) -> None:
    (status,) = returned(pepper(bed, "--client", "runner", "manage.status"))
    assert status == {"up": list(IDS), "down": []}
    (wheel,) = returned(pepper(bed, "--client", "wheel", "key.list_all"))
    assert wheel["data"]["return"]["minions"] == list(IDS)
    assert wheel["data"]["success"] is True and wheel["data"]["user"] == USER
    assert wheel["tag"] == f"salt/wheel/{wheel['data']['jid']}"


def test_run_uri_takes_a_token_from_post_token(bed: LocalTestbed) -> None:
    """``--run-uri``: POST /token, then every chunk to /run with that token in it."""
    assert returned(pepper(bed, "--run-uri", "pep1", "test.ping")) == [{"pep1": True}]
    (status,) = returned(pepper(bed, "--run-uri", "--client", "runner", "manage.status"))
    assert status["up"] == list(IDS)


def test_local_async_returns_the_jid_and_jobs_collects_it(bed: LocalTestbed) -> None:
    with bed.listener() as events:
        (job,) = returned(pepper(bed, "--client", "local_async", "*", "test.echo", "hi"))
        assert list(job) == ["jid", "minions"] and job["minions"] == list(IDS)
        deadline, answered = Deadline(30), set[str]()
        while answered != set(IDS):  # the returns come in any order
            ret = events.wait_for(f"salt/job/{job['jid']}/ret/", deadline.remaining())
            answered.add(ret.data["id"])
    with http(bed) as client:
        client.headers["X-Auth-Token"] = _token(client)
        one = client.get(f"/jobs/{job['jid']}").json()
    assert one["return"] == [{"pep1": "hi", "pep2": "hi"}]
    assert one["info"][0]["Function"] == "test.echo"
    # nothing matched: salt-api's {} and no job
    assert returned(pepper(bed, "--client", "local_async", "nobody*", "test.ping")) == [{}]


def test_fail_if_incomplete_polls_local_async_with_jobs_lookup_jid(bed: LocalTestbed) -> None:
    """pepper's own local_async loop: publish, then ``jobs.lookup_jid`` until all answered."""
    done = pepper(bed, "--fail-if-incomplete", "*", "test.ping")
    assert done.returncode == 0, (done.stdout, done.stderr)
    seen: dict[str, Any] = {}
    decoder, text = json.JSONDecoder(), done.stdout.strip()
    while text:  # one JSON list per minion as it answered
        listed, end = decoder.raw_decode(text)
        for item in listed:
            seen.update(item)
        text = text[end:].strip()
    assert seen == {"pep1": True, "pep2": True}


# -- failures ------------------------------------------------------------------------------
def test_a_wrong_password_is_refused(bed: LocalTestbed) -> None:
    done = pepper(bed, "*", "test.ping", password="wrong")
    assert done.returncode == 1 and "Authentication denied" in done.stderr
    with http(bed) as client:
        reply = client.post("/login", json={"username": USER, "password": "wrong", "eauth": "pam"})
        token = client.post("/token", json={"username": USER, "password": "x", "eauth": "pam"})
    assert reply.status_code == 401 and token.status_code == 401
    refused = f'Authentication failure of type "eauth" occurred for user {USER}.'
    assert token.json()["error"] == refused  # the master's words for auth.mk_token


def test_a_bad_token_in_a_run_chunk_is_salt_apis_401(bed: LocalTestbed, tmp_path: Path) -> None:
    # pepper -T keeps its token in a file and reuses it while unexpired: a stale one
    cache = tmp_path / "token"
    cache.write_text(json.dumps({"token": "0" * 40, "expire": time.time() + 3600}))
    done = pepper(bed, "--run-uri", "-T", "-x", str(cache), "*", "test.ping", tmp=tmp_path)
    assert done.returncode == 1 and "Authentication denied" in done.stderr
    chunk = {"client": "local", "tgt": "*", "fun": "test.ping", "token": "0" * 40}
    runner = {"client": "runner", "fun": "manage.status", "token": "0" * 40}
    with http(bed) as client:
        local = client.post("/run", json=[chunk])
        run = client.post("/run", json=[runner])
        nothex = client.post("/run", json=[{**runner, "token": "not-hex"}])
        none = client.post("/run", json=[{"client": "runner", "fun": "manage.status"}])
    assert local.status_code == run.status_code == nothex.status_code == none.status_code == 401
    assert local.json()["error"].startswith("Failed to authenticate!")
    assert run.json()["error"] == 'Authentication failure of type "token" occurred.'
    assert nothex.json()["error"] == "Invalid token"
    assert none.json()["error"] == "No authentication credentials given"


def test_an_unknown_client_is_a_400(bed: LocalTestbed) -> None:
    done = pepper(bed, "--client", "ssh", "*", "test.ping")
    assert done.returncode == 1 and "400" in done.stdout + done.stderr
    with http(bed) as client:
        client.headers["X-Auth-Token"] = _token(client)
        reply = client.post("/", json=[{"client": "ssh", "tgt": "*", "fun": "test.ping"}])
    assert reply.status_code == 400
    assert "Invalid client specified: 'ssh'" in reply.json()["error"]


def _token(client: httpx.Client) -> str:
    reply = client.post("/token", json={"username": USER, "password": PASSWORD, "eauth": "ldap"})
    assert reply.status_code == 200, reply.text
    (made,) = reply.json()
    assert list(made) == ["start", "expire", "name", "eauth", "token"]
    assert (made["name"], made["eauth"]) == (USER, "ldap")
    token: str = made["token"]
    return token
