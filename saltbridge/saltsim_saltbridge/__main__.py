"""``python -m saltsim_saltbridge``: salt-master and the bridge in one container.

salt-master runs as a child (its log on this process's stdout); the bridge runs in this
process. When salt-master exits, so does the container, with its exit code; SIGTERM
(``docker stop``/``restart``) is passed on to salt-master.
"""

from __future__ import annotations

import argparse
import logging
import signal
import subprocess
import sys
import threading
from pathlib import Path
from types import FrameType

from saltsim.curve import CurveServer
from saltsim_saltbridge.bridge import Bridge


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m saltsim_saltbridge")
    parser.add_argument("--config", default="/etc/salt/master")
    parser.add_argument("--pub", default="tcp://0.0.0.0:4512", help="where listeners subscribe")
    parser.add_argument("--pull", default="tcp://0.0.0.0:4513", help="where hosts fire events")
    parser.add_argument("--log-level", default="info", help="salt-master's -l")
    parser.add_argument(
        "--curve",
        help="a file of three Z85 lines: the bridge's public and secret key, then the one "
        "client key it lets in (written by the salt backend; without it: no CURVE)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s [bridge] %(message)s")
    master = subprocess.Popen(["salt-master", "-c", "/etc/salt", "-l", args.log_level])
    curve = None
    if args.curve:
        public, secret, client = Path(args.curve).read_bytes().split()[:3]
        curve = CurveServer.of(public, secret, [client])
    bridge = Bridge(args.config, args.pub, args.pull, curve)
    auth = bridge.authenticate() if curve is not None else None

    def forward(signum: int, _frame: FrameType | None) -> None:
        bridge.stop()
        master.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    thread = threading.Thread(target=bridge.run, name="bridge", daemon=True)
    thread.start()
    code = master.wait()
    bridge.stop()
    thread.join(5)
    if auth is not None:
        auth.stop()
    logging.info(
        "salt-master exited (%s); bridge forwarded %d, dropped %d",
        code,
        bridge.forwarded,
        bridge.dropped,
    )
    return code


if __name__ == "__main__":
    sys.exit(main())
