"""The master's REST API, compatible with salt-api's rest_cherrypy (``POST /login``,
``POST /token``, lowstate at ``POST /`` and ``POST /run``, ``GET /events`` as
Server-Sent Events, ``/ws``, ``/hook``, ``/keys``, ``/minions``, ``/jobs``, ``/stats``)."""

from saltsim_master.api.errors import ApiError, BadRequest, Unauthorized
from saltsim_master.api.hub import EventHub
from saltsim_master.api.server import RestApi
from saltsim_master.api.subscriber import DROPPED_TAG

__all__ = ["DROPPED_TAG", "ApiError", "BadRequest", "EventHub", "RestApi", "Unauthorized"]
