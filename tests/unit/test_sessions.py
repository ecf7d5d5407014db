"""Sessions decide presence: only a session its minion has used counts as connected."""

from __future__ import annotations

from saltsim_master.sessions import Sessions

from saltsim.crypto import new_session_key


def test_a_session_counts_as_connected_only_once_its_minion_used_it() -> None:
    """An _auth delivered late by TCP (from a socket the minion has since replaced) opens a
    session whose answer nobody reads; it used to count as connected until the heartbeat
    timeout, a presence new then lost for a minion that was never there."""
    sessions = Sessions()
    session = sessions.open("m1", new_session_key())
    assert sessions.connected(10.0, now=session.last_seen) == set()
    session.confirmed = True  # what the request edge does with the first sealed request
    assert sessions.connected(10.0, now=session.last_seen) == {"m1"}
    assert sessions.connected(10.0, now=session.last_seen + 11.0) == set()
