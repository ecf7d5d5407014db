"""Who runs a ``/run`` chunk, refused in salt-api's words; the lowstate clients'
``local_async`` and unanswered ``local`` shapes; probes kept off the API's streams."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import zmq.asyncio
from saltsim_master.api.errors import BadRequest, Unauthorized
from saltsim_master.api.hub import EventHub
from saltsim_master.api.lowstate import Lowstate, chunks_of
from saltsim_master.api.runauth import LOCAL_REFUSED, chunk_user
from saltsim_master.api.tokens import Tokens
from saltsim_master.commands import CommandTable

from saltsim.client import READY_TAG
from saltsim.wire import pack_frame

USERS = {"ann": "pw"}


def _chunk(client: str = "runner", **extra: Any) -> dict[str, Any]:
    base = {"client": client, "fun": "test.ping"}
    if client.startswith("local"):
        base["tgt"] = "*"
    (chunk,) = chunks_of({**base, **extra})
    return chunk


def test_a_chunk_runs_as_its_tokens_user_or_its_eauth_user() -> None:
    tokens = Tokens(USERS, lifetime=10)
    token = tokens.login("ann", "pw", "pam").token
    assert chunk_user(_chunk("local", token=token), tokens) == "ann"
    assert chunk_user(_chunk(username="ann", password="pw", eauth="ldap"), tokens) == "ann"
    # the token wins over credentials beside it, as in Salt's NetapiClient
    assert chunk_user(_chunk(token=token, username="x", password="y", eauth="pam"), tokens) == "ann"


@pytest.mark.parametrize(
    ("client", "extra", "message"),
    [
        ("runner", {"token": "not-hex"}, "Invalid token"),
        ("local", {"token": 1234}, "Invalid token"),
        ("runner", {"token": "0" * 40}, 'Authentication failure of type "token" occurred.'),
        ("wheel", {"token": "ab" * 20}, 'Authentication failure of type "token" occurred.'),
        ("local", {"token": "0" * 40}, LOCAL_REFUSED),
        ("local_async", {"token": "0" * 40}, LOCAL_REFUSED),
        (
            "runner",
            {"username": "ann", "password": "no", "eauth": "pam"},
            'Authentication failure of type "eauth" occurred for user ann.',
        ),
        ("local", {"username": "bob", "password": "pw", "eauth": "pam"}, LOCAL_REFUSED),
        ("runner", {"username": "ann", "password": "pw"}, "No authentication credentials given"),
        ("local", {}, "No authentication credentials given"),
    ],
)
def test_refusals_are_salt_apis_words(client: str, extra: dict[str, Any], message: str) -> None:
    tokens = Tokens(USERS, lifetime=10)
    with pytest.raises(Unauthorized) as refused:
        chunk_user(_chunk(client, **extra), tokens)
    assert refused.value.message == message and refused.value.status == 401
    assert tokens.refused == 1


class Commands(CommandTable):
    """The core's command table with a publish and a local that answer as the master's."""

    def __init__(self, minions: list[str], answered: dict[str, Any]) -> None:
        super().__init__()
        self.loads: list[tuple[str, dict[str, Any]]] = []

        async def publish(load: dict[str, Any]) -> dict[str, Any]:
            self.loads.append(("publish", load))
            return {"ok": True, "jid": "20261202" if minions else "", "minions": minions}

        async def local(load: dict[str, Any]) -> dict[str, Any]:
            self.loads.append(("local", load))
            silent = {m: "Minion did not return. [No response]" for m in minions}
            client_return = {**silent, **answered}  # as the master's local, dialect 3008
            return {**(await publish(load)), "return": answered, "client_return": client_return}

        self.register("publish", publish)
        self.register("local", local)


def test_local_async_is_the_jid_and_minions_or_nothing() -> None:
    commands = Commands(["m1", "m2"], {})
    job = asyncio.run(Lowstate(commands).run(_chunk("local_async", arg=["x"]), "ann"))
    assert job == {"jid": "20261202", "minions": ["m1", "m2"]}
    assert commands.loads[0][0] == "publish" and commands.loads[0][1]["user"] == "ann"
    nothing = asyncio.run(Lowstate(Commands([], {})).run(_chunk("local_async"), "ann"))
    assert nothing == {}


def test_local_answers_what_the_master_gives_salt_apis_local_client() -> None:
    commands = Commands(["m1", "m2"], {"m1": True})
    answer = asyncio.run(Lowstate(commands).run(_chunk("local"), "ann"))
    assert answer == {"m1": True, "m2": "Minion did not return. [No response]"}


def test_an_unknown_client_is_salt_apis_invalid_client() -> None:
    with pytest.raises(BadRequest, match="Invalid client specified: 'ssh'"):
        chunks_of({"client": "ssh", "tgt": "*", "fun": "test.ping"})
    with pytest.raises(BadRequest, match="the local_async client needs tgt"):
        chunks_of({"client": "local_async", "fun": "test.ping"})


def test_probes_reach_only_the_streams_that_ask_for_them() -> None:
    async def run() -> tuple[list[str], list[str]]:
        context = zmq.asyncio.Context()
        try:
            hub = EventHub(context, "inproc://unused", lambda t, d: None, queue_size=10, hwm=10)
            plain = hub.subscribe("sse", "t1", "ann", "peer")
            asking = hub.subscribe("ws", "t2", "ann", "peer", probes=True)
            for tag in (f"{READY_TAG}/abc", "saltsim/api/ready/def", "salt/job/1/new"):
                hub._handle(pack_frame(tag, {"_seq": 1, "probe": tag}))
            return (
                [plain.queue.get_nowait().tag for _ in range(plain.queue.qsize())],
                [asking.queue.get_nowait().tag for _ in range(asking.queue.qsize())],
            )
        finally:
            context.term()

    plain, asking = asyncio.run(run())
    assert plain == ["salt/job/1/new"]
    assert asking == [f"{READY_TAG}/abc", "saltsim/api/ready/def", "salt/job/1/new"]
