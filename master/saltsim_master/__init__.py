"""The saltsim master daemon."""

from saltsim import __version__ as __version__
from saltsim_master.config import MasterConfig
from saltsim_master.core import MasterCore

__all__ = ["MasterConfig", "MasterCore"]
