"""A benchmark's JSON report: the same envelope (which benchmark, when, on what machine)
around each benchmark's own settings and results, written where ``--json`` says."""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path
from typing import IO, Any

import zmq

__all__ = ["write_report"]


def write_report(
    path: Path, benchmark: str, body: dict[str, Any], log: IO[str], **machine: Any
) -> None:
    """Write ``{benchmark, when, machine, **body}``; ``machine`` adds to the machine facts."""
    report = {
        "benchmark": benchmark,
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "zmq": zmq.zmq_version(),
            "loadavg_at_end": [round(x, 2) for x in os.getloadavg()],
            **machine,
        },
        **body,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {path}", file=log)
