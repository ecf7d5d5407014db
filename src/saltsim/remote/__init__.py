"""Listen to a master from another machine, with the local client's API.

Two ways in, both returning ``saltsim.event.Event`` with ``_seq`` accounting (``lost``):

- the bus ports, when they are reachable (the docker stack publishes 4512/4513 on the
  host): ``saltsim.EventClient("tcp://HOST:4512", "tcp://HOST:4513")`` is the local client
  itself, so a script written against the local bus runs unchanged with the addresses;
- the REST API's ``GET /events`` stream (HTTPS, a login): ``RemoteEventClient`` and
  ``AsyncRemoteEventClient`` here, with ``get_event``, ``iter_events``, ``next_event``,
  ``wait_for``, ``wait_ready``, ``subscribe``/``unsubscribe`` and ``fire_event``. The API
  cannot fire arbitrary tags, so ``fire_event`` pushes through the bus PULL port when the
  client was given ``pull_address``, and raises ``NotSupportedError`` otherwise.
"""

from saltsim.remote._async import AsyncRemoteEventClient
from saltsim.remote._errors import NotSupportedError, RemoteAuthError, RemoteError
from saltsim.remote._stream import ApiSettings, parse_message
from saltsim.remote._sync import RemoteEventClient

__all__ = [
    "ApiSettings",
    "AsyncRemoteEventClient",
    "NotSupportedError",
    "RemoteAuthError",
    "RemoteError",
    "RemoteEventClient",
    "parse_message",
]
