"""The testbed controller: one interface (``Testbed``), two backends.

``LocalTestbed`` runs the master and minions as processes on 127.0.0.1;
``DockerTestbed`` runs them as containers of the compose project.
"""

from saltsim.testbed.base import NotSupportedError, Testbed, TestbedError
from saltsim.testbed.docker_backend import DockerTestbed
from saltsim.testbed.local import LocalTestbed

__all__ = ["DockerTestbed", "LocalTestbed", "NotSupportedError", "Testbed", "TestbedError"]
