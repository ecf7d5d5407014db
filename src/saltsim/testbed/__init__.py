"""The testbed controller: one interface (``Testbed``), three backends.

``LocalTestbed`` runs saltsim's master and minions as processes on 127.0.0.1;
``DockerTestbed`` runs them as containers of the compose project; ``SaltTestbed`` runs
a real salt-master and real salt-minions in containers. Callers type against
``Testbed`` (``SaltsimTestbed`` where they need saltsim's own master client).
"""

from saltsim.errors import EngineUnavailableError, NotSupportedError, TestbedError
from saltsim.testbed.base import MasterControl, SaltsimTestbed, Testbed
from saltsim.testbed.docker_backend import DockerTestbed
from saltsim.testbed.local import LocalTestbed
from saltsim.testbed.salt_backend import SaltTestbed

__all__ = [
    "DockerTestbed",
    "EngineUnavailableError",
    "LocalTestbed",
    "MasterControl",
    "NotSupportedError",
    "SaltTestbed",
    "SaltsimTestbed",
    "Testbed",
    "TestbedError",
]
