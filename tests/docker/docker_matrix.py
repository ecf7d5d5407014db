"""The disconnect matrix: how each way of going away looks on the bus, per minion.

A projection keeps the events about one minion and writes each as a short
word, so a row reads like docs/docker.md's table and compares exactly.
"""

from __future__ import annotations

from saltsim.event import Event

__all__ = ["EXPECTED", "START", "WOKEN", "canonical", "project"]

# 3008: resource/refresh comes from the _register_resources the minion sends after
# minion_start (docs/EVENTS.md "Start").
START = ["auth accept", "minion/refresh", "minion_start", "resource/refresh", "start"]

# How each fault looks for the minion it hits, from the fault until it is back
# (presence `new` and, where it restarts, its start events).
EXPECTED: dict[str, list[str]] = {
    "stop": ["lost", *START, "new"],
    "kill": ["lost", *START, "new"],
    "pause": ["lost", "new"],
    "disconnect": ["lost", "new"],
    # every minion signs in to the new master; no start events, no pending key
    "master restart": ["auth accept", "new"],
    # the deleted minion is lost at the next tick, whose presence comes before the rotate;
    # then it is quiet (a real minion makes no request of its own) until a publication
    # reaches it (WOKEN), whether auto_accept is on or off
    "delete": ["key delete", "lost", "rotate"],
    "delete (auto_accept)": ["key delete", "lost", "rotate"],
}

# What follows once the next publication reaches the quiet minion: it signs in with its
# key; pending with auto_accept off (again every acceptance_wait_time), accepted (no
# start events: the same process) and new at the next tick with it on.
WOKEN = {"delete": ["auth pend"], "delete (auto_accept)": ["auth accept", "new"]}


def canonical(words: list[str]) -> list[str]:
    """``words`` with a presence ``new`` that landed inside a start block moved after it.

    ``new`` comes with the first presence tick after the sign-in, which may fall between
    ``salt/auth`` and the start events (they are fired by the minion a moment later): the
    bus order there is a race, in Salt too, so the rows read it as "new, once signed in".
    """
    out = list(words)
    for at, word in enumerate(words):
        if word != "auth accept" or "new" not in out[at:]:
            continue
        block = [w for w in out[at : at + len(START) + 1] if w != "new"]
        if block == START and "new" in out[at : at + len(START) + 1]:
            window = out[at : at + len(START) + 1]
            window.remove("new")
            out[at : at + len(START) + 1] = [*window, "new"]
    return out


def project(events: list[Event], minion_id: str) -> list[str]:
    """The events about ``minion_id``, one word each, in bus order."""
    words: list[str] = []
    for event in events:
        tag, data = event.tag, event.data
        if tag == "salt/auth" and data.get("id") == minion_id:
            words.append(f"auth {data.get('act', 'reject')}")
        elif tag == "salt/key" and data.get("id") == minion_id:
            words.append(f"key {data['act']}")
        elif tag == "key":
            words.append("rotate")
        elif tag in (f"minion/refresh/{minion_id}", f"resource/refresh/{minion_id}"):
            words.append(tag.rsplit("/", 1)[0])
        elif tag == "minion_start" and data.get("id") == minion_id:
            words.append("minion_start")
        elif tag == f"salt/minion/{minion_id}/start":
            words.append("start")
        elif tag == "salt/presence/change":
            words += [key for key in ("lost", "new") if minion_id in data.get(key, [])]
    return words
