"""The REST API's pure parts: tokens and their lifetime, a client's bounded queue with the
drop notice at the gap, the config options."""

from __future__ import annotations

import asyncio

import pytest
from saltsim_master.api.errors import Unauthorized
from saltsim_master.api.subscriber import DROPPED_TAG, Outgoing, Subscriber
from saltsim_master.api.tokens import Tokens
from saltsim_master.config import MasterConfig

from saltsim.config import load_config
from saltsim.errors import ConfigError


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_tokens_live_for_their_lifetime_then_are_refused() -> None:
    clock = Clock()
    tokens = Tokens({"ann": "pw"}, lifetime=10, clock=clock)
    token = tokens.login("ann", "pw", "auto")
    assert (token.start, token.expire, token.user) == (1000.0, 1010.0, "ann")
    assert tokens.check(token.token) == token and tokens.alive(token)
    clock.now = 1010.0
    assert not tokens.alive(token)
    with pytest.raises(Unauthorized, match="expired"):
        tokens.check(token.token)
    with pytest.raises(Unauthorized, match="unknown"):  # and it is gone for good
        tokens.check(token.token)


@pytest.mark.parametrize(
    ("users", "creds", "message"),
    [
        ({}, ("ann", "pw", "auto"), "nobody can log in"),
        ({"ann": "pw"}, ("ann", "nope", "auto"), "Could not authenticate"),
        ({"ann": "pw"}, ("bob", "pw", "auto"), "Could not authenticate"),
        ({"ann": "pw"}, (None, None, "auto"), "Could not authenticate"),
        ({"ann": "pw"}, ("ann", "pw", None), "no eauth given"),
        ({"ann": "pw"}, ("ann", "nope", "pam"), "Could not authenticate"),
    ],
)
def test_bad_logins(users: dict[str, str], creds: tuple[object, ...], message: str) -> None:
    tokens = Tokens(users, lifetime=10)
    with pytest.raises(Unauthorized, match=message):
        tokens.login(*creds)
    assert tokens.refused == 1 and len(tokens) == 0


@pytest.mark.parametrize("eauth", ["auto", "pam", "ldap", "file", "sharedsecret"])
def test_any_eauth_name_checks_the_configured_users(eauth: str) -> None:
    tokens = Tokens({"ann": "pw"}, lifetime=10)
    token = tokens.login("ann", "pw", eauth)
    assert (token.user, token.eauth) == ("ann", eauth)
    assert token.as_login()["eauth"] == eauth
    made = tokens.issue("ann", eauth).as_eauth_token()  # POST /token's shape
    assert list(made) == ["start", "expire", "name", "eauth", "token"]
    assert (made["name"], made["eauth"]) == ("ann", eauth)
    assert tokens.find(str(made["token"])) is not None and tokens.find("0" * 40) is None


def test_logout_ends_a_token() -> None:
    tokens = Tokens({"ann": "pw"}, lifetime=10)
    token = tokens.login("ann", "pw", "auto")
    tokens.logout(token)
    assert not tokens.alive(token)


def _tags(subscriber: Subscriber, count: int) -> list[str]:
    async def take() -> list[str]:
        return [(await subscriber.next()).tag for _ in range(count)]

    return asyncio.run(take())


def test_a_full_queue_drops_and_the_notice_sits_at_the_gap() -> None:
    drops: list[int] = []
    subscriber = Subscriber("sse", "t", "ann", "peer", 3, lambda: drops.append(1))
    for n in range(6):  # 0 1 2 queued; 3 4 5 dropped
        subscriber.offer(Outgoing.of(f"e/{n}", {}))
    assert subscriber.dropped == 3 and len(drops) == 3
    assert _tags(subscriber, 1) == ["e/0"]  # one free slot: not room for notice + event
    subscriber.offer(Outgoing.of("e/6", {}))
    assert subscriber.dropped == 4
    assert _tags(subscriber, 1) == ["e/1"]
    subscriber.offer(Outgoing.of("e/7", {}))  # two free: the notice, then the event
    assert _tags(subscriber, 3) == ["e/2", DROPPED_TAG, "e/7"]


def test_an_idle_client_is_told_of_its_losses_once_its_queue_is_empty() -> None:
    subscriber = Subscriber("ws", "t", "ann", "peer", 2, lambda: None)
    for n in range(3):
        subscriber.offer(Outgoing.of(f"e/{n}", {}))

    async def take() -> list[Outgoing]:
        return [await subscriber.next() for _ in range(3)]

    got = asyncio.run(take())
    assert [o.tag for o in got] == ["e/0", "e/1", DROPPED_TAG]
    assert got[2].text == '{"data": {"dropped": 1}, "tag": "saltsim/api/dropped"}'


def test_outgoing_is_salt_full_event_json() -> None:
    out = Outgoing.of("salt/x", {"a": b"raw", "_seq": 3})
    assert out.text == '{"data": {"a": "raw", "_seq": 3}, "tag": "salt/x"}'


def test_api_options_from_the_environment() -> None:
    env = {"SALTSIM_API_USERS": '{"ann": "pw"}', "SALTSIM_API_SSL": "false"}
    config = load_config(MasterConfig, env=env)
    assert config.api_users == {"ann": "pw"} and config.api_ssl is False
    assert MasterConfig().api_users == {} and MasterConfig().api_port == 8000
    with pytest.raises(ConfigError, match="api_users"):
        load_config(MasterConfig, env={"SALTSIM_API_USERS": "{ann: 1234}"})
    with pytest.raises(ConfigError, match="api_client_queue"):
        MasterConfig(api_client_queue=1)
