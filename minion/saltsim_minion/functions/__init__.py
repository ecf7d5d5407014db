"""Salt's execution functions as saltsim simulates them, one module per Salt module.

Importing this package registers every function in the minion's table
(``saltsim_minion.registry.FUNCTIONS``), which it hands on: a minion runs a publication
with ``FUNCTIONS.execute(minion, fun, arg, load)``. A new function is a decorated
``async def`` in the module of its Salt module (a new module is imported here).
"""

from saltsim_minion.functions import cmd, event, grains, test
from saltsim_minion.registry import FUNCTIONS

__all__ = ["FUNCTIONS", "cmd", "event", "grains", "test"]
