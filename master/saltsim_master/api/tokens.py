"""Logins and tokens: any eauth name against ``api_users``, Salt's token lifetime.

saltsim has no PAM or LDAP behind it: every eauth name (``pam``, ``ldap``, ``auto``,
``file``, ...) checks the same ``api_users``, as a test double of those backends would,
so salt-api tutorials and clients (pepper defaults to ``auto``, most docs say ``pam``)
work as written; an unknown user or a wrong password is refused whatever the name.

A token is a random 40-hex string (the shape of salt-api's session ids). It is the
``X-Auth-Token`` header, the ``session_id`` cookie, the ``token`` of a ``/run`` chunk
(made by ``POST /login`` or ``POST /token``: one kind of token, as in Salt) and, when the
config allows, the ``?token=`` of ``/events`` and ``/ws``. Tokens live in the master's
memory: a restarted master forgets them, as a salt-api with memory sessions does.
"""

from __future__ import annotations

import hmac
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from saltsim_master.api.errors import Unauthorized

__all__ = ["PERMS", "Token", "Tokens"]

# What every API user may do (saltsim has no ACLs): Salt's perms for full access.
PERMS = [".*", "@jobs", "@runner", "@wheel"]


@dataclass(frozen=True)
class Token:
    """One login: the token, its user and eauth, and its start and expiry (epoch seconds)."""

    token: str
    user: str
    eauth: str
    start: float
    expire: float

    def as_login(self) -> dict[str, object]:
        """One element of ``POST /login``'s ``return`` list, as salt-api's."""
        return {
            "token": self.token,
            "expire": self.expire,
            "start": self.start,
            "user": self.user,
            "eauth": self.eauth,
            "perms": list(PERMS),
        }

    def as_eauth_token(self) -> dict[str, object]:
        """One element of ``POST /token``'s list, as Salt's ``auth.mk_token`` makes it."""
        return {
            "start": self.start,
            "expire": self.expire,
            "name": self.user,
            "eauth": self.eauth,
            "token": self.token,
        }


class Tokens:
    """The logins in memory: credentials checked against ``api_users``, tokens by value."""

    def __init__(
        self,
        users: Mapping[str, str],
        lifetime: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._users = dict(users)
        self._lifetime = lifetime
        self._clock = clock
        self._tokens: dict[str, Token] = {}
        self.refused = 0

    def verify(self, username: object, password: object, eauth: object) -> str:
        """The user name if the credentials are good, else ``Unauthorized`` (never saying
        whether the user or the password was wrong). Any eauth name is accepted."""
        if not isinstance(eauth, str) or not eauth:
            self.refused += 1
            raise Unauthorized(
                "Could not authenticate using provided credentials: no eauth given "
                "(send eauth, e.g. pam or auto: every name checks api_users here)"
            )
        if not self._users:
            self.refused += 1
            raise Unauthorized("no API users are configured (api_users); nobody can log in")
        known = self._users.get(username) if isinstance(username, str) else None
        given = password if isinstance(password, str) else ""
        # compare_digest against something even for an unknown user: no timing oracle
        matches = hmac.compare_digest((known or "\0").encode(), given.encode())
        if known is None or not matches:
            self.refused += 1
            raise Unauthorized("Could not authenticate using provided credentials")
        assert isinstance(username, str)
        return username

    def login(self, username: object, password: object, eauth: object) -> Token:
        """A new token for good credentials (``verify``)."""
        user = self.verify(username, password, eauth)
        assert isinstance(eauth, str)  # verify() refused anything else
        return self.issue(user, eauth)

    def issue(self, user: str, eauth: str) -> Token:
        """A new token for a user whose credentials ``verify`` accepted."""
        self._purge()
        start = self._clock()
        token = Token(secrets.token_hex(20), user, eauth, start, start + self._lifetime)
        self._tokens[token.token] = token
        return token

    def check(self, token: str | None) -> Token:
        """The live token, or ``Unauthorized`` for a missing, unknown or expired one."""
        if not token:
            self.refused += 1
            raise Unauthorized("no token: log in at POST /login, then send X-Auth-Token")
        found = self._tokens.get(token)
        if found is None:
            self.refused += 1
            raise Unauthorized("unknown token: log in again at POST /login")
        if found.expire <= self._clock():
            del self._tokens[token]
            self.refused += 1
            raise Unauthorized("token expired: log in again at POST /login")
        return found

    def find(self, token: str) -> Token | None:
        """The live token of that value, or ``None`` (counted as a refusal); for the
        ``token`` of a ``/run`` chunk, whose refusal the caller words."""
        try:
            return self.check(token)
        except Unauthorized:
            return None

    def alive(self, token: Token) -> bool:
        """Still valid: not logged out and not expired (streams check this)."""
        return token.token in self._tokens and token.expire > self._clock()

    def logout(self, token: Token) -> None:
        self._tokens.pop(token.token, None)

    def _purge(self) -> None:
        now = self._clock()
        for key in [k for k, t in self._tokens.items() if t.expire <= now]:
            del self._tokens[key]

    def __len__(self) -> int:
        return len(self._tokens)
