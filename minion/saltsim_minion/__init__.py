"""The saltsim minion daemon and swarm."""

from saltsim import __version__ as __version__
from saltsim_minion.config import MinionConfig
from saltsim_minion.minion import EXIT_REJECTED, Minion, Rejected
from saltsim_minion.swarm import Swarm

__all__ = ["EXIT_REJECTED", "Minion", "MinionConfig", "Rejected", "Swarm"]
