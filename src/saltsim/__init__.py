"""saltsim: a Salt master's event system, re-implemented as a testbed."""

import importlib.metadata

from saltsim.asyncclient import AsyncEventClient
from saltsim.bus import BUS_START_TAG, BusStats, EventBus
from saltsim.busprocess import BusProcess
from saltsim.client import EventClient
from saltsim.config import BusConfig, load_config
from saltsim.errors import ConfigError, EventTimeoutError, FrameError, SaltsimError
from saltsim.event import Event
from saltsim.stamp import Stamper
from saltsim.tags import MATCH_TYPES, compile_matcher, match_tag, tagify
from saltsim.wire import pack_frame, unpack_frame

__all__ = [
    "BUS_START_TAG",
    "MATCH_TYPES",
    "AsyncEventClient",
    "BusConfig",
    "BusProcess",
    "BusStats",
    "ConfigError",
    "Event",
    "EventBus",
    "EventClient",
    "EventTimeoutError",
    "FrameError",
    "SaltsimError",
    "Stamper",
    "compile_matcher",
    "load_config",
    "match_tag",
    "pack_frame",
    "tagify",
    "unpack_frame",
]

# One version for saltsim and the three daemon packages (they import this one): the
# installed distribution's, else this literal, for a copied tree that is not installed
# (the images). tests/unit/test_version.py keeps the literal equal to pyproject.toml's.
try:
    __version__ = importlib.metadata.version("saltsim")
except importlib.metadata.PackageNotFoundError:
    __version__ = "0.1.0"
