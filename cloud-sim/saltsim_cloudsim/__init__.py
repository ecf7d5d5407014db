"""cloud-sim: a fake cloud provider whose instances become saltsim minions.

An HTTP API (``API.md`` beside this package) with instances that go pending → running →
shutting-down → terminated after configurable delays, private addresses from its own
pool, injectable failures, and a backend that starts a deployed instance's minion as a
process (``local``) or a container on the testbed network (``docker``). The server
(``server.CloudServer``) and the service behind it (``service.CloudService``) are
imported from their modules, so the healthcheck and the unit tests stay light.
"""

from saltsim import __version__ as __version__
from saltsim_cloudsim.config import CloudSimConfig, load_cloudsim_config
from saltsim_cloudsim.errors import CloudError
from saltsim_cloudsim.faults import KINDS, FaultBook
from saltsim_cloudsim.ippool import IpPool
from saltsim_cloudsim.machine import Fleet, Instance

__all__ = [
    "KINDS",
    "CloudError",
    "CloudSimConfig",
    "FaultBook",
    "Fleet",
    "Instance",
    "IpPool",
    "load_cloudsim_config",
]
