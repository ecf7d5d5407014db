"""The remote listener against a real master's REST API (``GET /events`` over HTTPS)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from saltsim.remote import RemoteEventClient
from saltsim.testbed.local import LocalTestbed

API = Path(__file__).parents[2] / "master" / "saltsim_master" / "api"

pytestmark = [
    pytest.mark.functional,
    pytest.mark.skipif(
        not (API / "__init__.py").exists(),
        reason="the master's REST API (master/saltsim_master/api, issue #6) is not there yet",
    ),
]

USERS = {"saltdev": "saltdev"}


@pytest.fixture(scope="module")
def testbed_options() -> dict[str, Any]:
    return {"master_options": {"auto_accept": True, "api_users": USERS}}


def test_remote_listener_over_the_masters_api(testbed: LocalTestbed) -> None:
    """Log in, arm through the bus PULL port, see a minion start and its own event, in
    order and without loss, exactly as a local listener would."""
    with RemoteEventClient(
        f"https://127.0.0.1:{testbed.ports['api_port']}",
        username="saltdev",
        password="saltdev",
        verify=False,  # the master's certificate is self-signed
        pull_address=testbed.bus_pull,
    ) as client:
        client.wait_ready(30)
        testbed.add_minion("api1")
        assert client.wait_for("salt/minion/api1/start", 30).data["id"] == "api1"
        pki = testbed.workdir / "minions" / "api1" / "pki"
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
