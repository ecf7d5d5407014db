"""The saltsim CLI against a running master: salt-key, salt and salt-run habits."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from saltsim.deadline import Deadline
from saltsim.testbed.local import LocalTestbed

pytestmark = pytest.mark.functional


@pytest.fixture(scope="module")
def testbed_options() -> dict[str, Any]:
    return {"minion_options": {"acceptance_wait_time": 0.3}}


@pytest.fixture(scope="module")
def bed(module_testbed: LocalTestbed) -> LocalTestbed:
    """The module's testbed with cli1 signed in (pending: the master accepts no key)."""
    with module_testbed.listener() as events:
        module_testbed.add_minion("cli1")
        events.wait_for("salt/auth", 20)
    return module_testbed


def saltsim(bed: LocalTestbed, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "saltsim", *args[:1], "-c", str(bed.master_config), *args[1:]],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_key_list_accept_and_cmd(bed: LocalTestbed) -> None:
    listing = saltsim(bed, "key", "-L")
    assert listing.returncode == 0
    assert listing.stdout.splitlines() == [
        "Accepted Keys:",
        "Denied Keys:",
        "Unaccepted Keys:",
        "cli1",
        "Rejected Keys:",
    ]
    declined = saltsim(bed, "key", "-a", "cli1", stdin="n\n")
    assert declined.returncode == 1 and "Proceed? [n/Y]" in declined.stdout
    with bed.listener() as events:
        accepted = saltsim(bed, "key", "-a", "cli1", "-y")
        assert accepted.returncode == 0, accepted.stderr
        assert accepted.stdout.splitlines() == [
            "The following keys are going to be accepted:",
            "Unaccepted Keys:",
            "cli1",
            "Key for minion cli1 accepted.",
        ]
        events.wait_for("salt/minion/cli1/start", 20)
    ping = saltsim(bed, "cmd", "*", "test.ping")
    assert (ping.returncode, ping.stdout) == (0, "cli1:\n    True\n")
    arg = saltsim(bed, "cmd", "cli1", "test.arg", "1", "two", "k=true")
    lines = arg.stdout.splitlines()
    assert lines[:7] == [
        "cli1:",
        "    ----------",
        "    args:",
        "        - 1",
        "        - two",
        "    kwargs:",
        "        ----------",
    ]
    # As Salt 3008.3's test.arg, the publication's __pub_* keys come with the caller's k.
    assert "        __pub_fun:" in lines and "        k:" in lines
    assert lines[lines.index("        k:") + 1] == "            True"
    failed = saltsim(bed, "cmd", "cli1", "cmd.run", "nosuch")
    assert failed.returncode == 1 and "nosuch: not found" in failed.stdout


def test_no_match_run_and_errors(bed: LocalTestbed) -> None:
    none = saltsim(bed, "cmd", "zzz*", "test.ping")
    assert none.returncode == 2
    assert "No minions matched the target. No command was sent, no jid was assigned." in none.stdout
    run = saltsim(bed, "run", "test.arg", "a", "b=2", "--out", "json")
    assert run.returncode == 0 and '"kwargs": {\n        "b": 2' in run.stdout
    assert saltsim(bed, "run", "no.such").returncode == 1
    unknown = saltsim(bed, "cmd", "--bogus", "*", "test.ping")
    assert unknown.returncode == 2 and "unrecognized arguments: --bogus" in unknown.stderr
    nomatch = saltsim(bed, "key", "-d", "ghost", "-y")
    assert nomatch.returncode == 1 and "does not match any" in nomatch.stdout


def test_broken_config_is_a_clear_error(tmp_path: Path) -> None:
    config = tmp_path / "master.yaml"
    config.write_text("pki_dir: [unclosed\n")
    result = subprocess.run(
        [sys.executable, "-m", "saltsim", "key", "-c", str(config), "-L"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert f"saltsim: error: {config}:2:1: broken YAML" in result.stderr


def _present(bed: LocalTestbed, ids: list[str]) -> bool:
    with bed.client() as client:
        return bool(client.runner("manage.present")["return"] == ids)


def test_a_list_target_reports_what_did_not_return_as_salt(bed: LocalTestbed) -> None:
    """Salt 3008.3's ``salt -L up,down,nokey test.ping`` (observed): the returns, then the
    silent known minion ``[Not connected]``, then the id with no key ``[No response]`` with
    the job's lookup line; stderr's error line, exit 1. It used to drop ``ghost``, exit 0."""
    with bed.listener() as events:
        bed.add_minion("cli2")
        deadline = Deadline(20)
        while events.wait_for("salt/auth", deadline.remaining()).data["id"] != "cli2":
            pass
    with bed.client() as client:
        client.key("accept", "*")
    Deadline(30).poll(lambda: _present(bed, ["cli1", "cli2"]), "cli1 and cli2 present")
    up = saltsim(bed, "cmd", "-L", "cli2,ghost", "test.ping")
    assert up.returncode == 1 and up.stderr.endswith(
        "ERROR: Minions returned with non-zero exit code\n"
    )
    lines = up.stdout.splitlines()
    assert lines[:4] == ["cli2:", "    True", "ghost:", "    Minion did not return. [No response]"]
    assert re.fullmatch(r"    salt-run jobs\.lookup_jid \d{20}", lines[-1])
    bed.stop_minion("cli2")
    Deadline(30).poll(lambda: _present(bed, ["cli1"]), "cli2 gone")
    down = saltsim(bed, "cmd", "-L", "cli1,cli2,ghost", "test.ping", "-t", "1")
    assert down.returncode == 1
    assert down.stdout.splitlines()[:6] == [
        "cli1:",
        "    True",
        "cli2:",
        "    Minion did not return. [Not connected]",
        "ghost:",
        "    Minion did not return. [No response]",
    ]
    as_json = json.loads(
        saltsim(bed, "cmd", "-L", "ghost,cli1", "test.ping", "--out", "json").stdout
    )
    assert as_json["cli1"] is True and as_json["ghost"].startswith("Minion did not return.")
    compound = saltsim(bed, "cmd", "-C", "G@id:cli1 or L@ghost", "test.ping")
    assert compound.returncode == 1 and "ghost:" in compound.stdout


@pytest.mark.parametrize(
    "target", [["zzz*"], ["-L", "ghost,phantom"], ["-G", "os:Plan9"], ["-C", "L@ghost and cli1"]]
)
def test_a_target_nobody_matches_sends_nothing(bed: LocalTestbed, target: list[str]) -> None:
    """Salt 3008.3, for a glob, a list of ids with no key, a grain, a compound (observed)."""
    none = saltsim(bed, "cmd", *target, "test.ping")
    assert (none.returncode, none.stdout, none.stderr) == (
        2,
        "No minions matched the target. No command was sent, no jid was assigned.\n",
        "ERROR: No return received\n",
    )


def test_cmd_puts_no_listener_probe_on_the_bus(bed: LocalTestbed) -> None:
    """``saltsim cmd`` gathered returns through a bus listener of its own, whose readiness
    probes (``saltsim/listener/ready/<uuid>``) every watcher saw; the master's local
    command gathers them now."""
    with bed.listener() as events:
        saltsim(bed, "cmd", "*", "test.ping")
        assert events.fire_event({}, "test/cli/end")
        seen: list[str] = []
        deadline = Deadline(20)
        while not seen or seen[-1] != "test/cli/end":
            seen.append(events.wait_for("", deadline.remaining()).tag)
    assert [tag for tag in seen if tag.startswith("saltsim/listener/")] == []
