"""The remote listener against a real master's REST API (``GET /events`` over HTTPS)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from saltsim.remote import RemoteEventClient
from saltsim.testbed.local import LocalTestbed, free_ports

API = Path(__file__).parents[2] / "master" / "saltsim_master" / "api"

pytestmark = [
    pytest.mark.functional,
    pytest.mark.skipif(
        not (API / "__init__.py").exists(),
        reason="the master's REST API (master/saltsim_master/api, issue #6) is not there yet",
    ),
]

USERS = {"saltdev": "saltdev"}


def test_remote_listener_over_the_masters_api() -> None:
    """Log in, arm through the bus PULL port, see a minion start and its own event, in
    order and without loss, exactly as a local listener would."""
    (api_port,) = free_ports(1)
    options = {"auto_accept": True, "api_port": api_port, "api_users": USERS}
    with (
        LocalTestbed(master_options=options) as bed,
        RemoteEventClient(
            f"https://127.0.0.1:{api_port}",
            username="saltdev",
            password="saltdev",
            verify=False,  # the master's certificate is self-signed
            pull_address=bed.bus_pull,
        ) as client,
    ):
        client.wait_ready(30)
        bed.add_minion("api1")
        assert client.wait_for("salt/minion/api1/start", 30).data["id"] == "api1"
        pki = bed.workdir / "minions" / "api1" / "pki"
        sent = subprocess.run(
            [sys.executable, "-m", "saltsim", "event", "send", "--minion", str(pki), "t/x", "a=1"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert sent.returncode == 0, sent.stderr
        event = client.wait_for("t/x", 30)
        # as salt-call event.send: the user's keys beside salt-call's __pub_* ones
        user = {k: v for k, v in event.data["data"].items() if not k.startswith("__pub_")}
        assert (event.data["id"], user) == ("api1", {"a": 1})
        assert event.data["data"]["__pub_tgt"] == "salt-call"
        assert client.lost == 0
