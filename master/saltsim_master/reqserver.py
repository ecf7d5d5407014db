"""The request server's edge: framing, size, decoding, sessions, replay, counting.

Everything malformed is counted by reason and refused with a clear error where
there is a reply path; nothing here raises into the serving loop.
"""

from __future__ import annotations

import hmac
import logging
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from saltsim.crypto import CryptoError
from saltsim.errors import FrameError
from saltsim.wire import decode_data, encode_data
from saltsim_master.sessions import Session, Sessions

__all__ = ["Refused", "RequestEdge"]

log = logging.getLogger(__name__)


class Refused(Exception):
    """A request refused at the edge; ``reason`` is the counter key, ``reply`` goes back."""

    def __init__(self, reason: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.reason = reason
        self.reply: dict[str, Any] = {"ok": False, "error": message, **extra}


class RequestEdge:
    """Turns raw ROUTER frames into trusted ``(kind, session, load)`` or ``Refused``."""

    def __init__(self, sessions: Sessions, max_load_size: int, client_token: str) -> None:
        self.sessions = sessions
        self.max_load_size = max_load_size
        # Whether an id without a session may sign in again (its key is accepted); None:
        # every such request is told to sign in again.
        self.signs_in_again: Callable[[str], bool] | None = None
        self.client_token = client_token
        self.refused: Counter[str] = Counter()
        self._logged: set[str] = set()

    def count(self, refusal: Refused) -> None:
        self.refused[refusal.reason] += 1
        if refusal.reason not in self._logged:
            self._logged.add(refusal.reason)
            log.warning(
                "refused a request (%s): %s; further ones only counted", refusal.reason, refusal
            )

    def parse(self, payload: bytes) -> tuple[str, Session | None, dict[str, Any], Any]:
        """``(enc, session, load, rid)``; raises ``Refused``."""
        if len(payload) > self.max_load_size:
            raise Refused("oversize", f"load of {len(payload)} bytes exceeds max_load_size")
        try:
            envelope = decode_data(payload)
        except FrameError as exc:
            raise Refused("bad msgpack", f"undecodable request: {exc}") from exc
        rid = envelope.get("rid")
        enc, load = envelope.get("enc"), envelope.get("load")
        if enc == "clear":
            if not isinstance(load, dict) or load.get("cmd") != "_auth":
                raise Refused("clear not auth", "only _auth may be sent in the clear", rid=rid)
            return enc, None, load, rid
        if enc == "aes":
            return enc, *self._open(envelope, load, rid), rid
        if enc == "client":
            token = envelope.get("token")
            if not isinstance(token, str) or not _same(token, self.client_token):
                raise Refused("bad token", "client token refused", rid=rid)
            if not isinstance(load, dict) or not isinstance(load.get("cmd"), str):
                raise Refused("bad load", "client load must be a map with a cmd", rid=rid)
            return enc, None, load, rid
        raise Refused("unknown enc", f"unknown enc {enc!r}", rid=rid)

    def _open(
        self, envelope: dict[str, Any], load: Any, rid: Any
    ) -> tuple[Session, dict[str, Any]]:
        minion_id = envelope.get("id")
        session = self.sessions.get(minion_id) if isinstance(minion_id, str) else None
        if session is None:
            # Only a minion whose key is accepted is told to sign in again (after a master
            # restart); one whose key was deleted or rejected is told to keep quiet, as a
            # real minion that has no request to make until a publication fails to decrypt.
            if self.signs_in_again is not None and not (
                isinstance(minion_id, str) and self.signs_in_again(minion_id)
            ):
                raise Refused(
                    "no key", "no accepted key; wait for a publication", rid=rid, quiet=True
                )
            raise Refused("no session", "not authenticated; sign in again", rid=rid, reauth=True)
        try:
            opened = session.cipher.open(load, session.minion_id.encode())
        except (CryptoError, FrameError) as exc:
            raise Refused(
                "bad signature", f"request does not verify: {exc}", rid=rid, reauth=True
            ) from exc
        counter = opened.get("ctr")
        if not isinstance(counter, int) or counter <= session.last_counter:
            raise Refused("replay", "replayed or out-of-order request", rid=rid)
        session.last_counter = counter
        session.last_seen = time.monotonic()
        session.closed = False
        session.confirmed = True
        if not isinstance(opened.get("cmd"), str):
            raise Refused("bad load", "load has no cmd", rid=rid)
        return session, opened

    @staticmethod
    def reply(rid: Any, body: dict[str, Any]) -> bytes:
        return encode_data({"rid": rid, **body})


def _same(given: str, expected: str) -> bool:

    return hmac.compare_digest(given.encode(), expected.encode())
