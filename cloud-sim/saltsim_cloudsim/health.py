"""The container healthcheck: ``python3 -m saltsim_cloudsim.health [URL]``.

Healthy when ``GET /v1/health`` answers ``{"ok": true}`` (default
``http://127.0.0.1:8080``). Standard library only; a hint for people running the
compose file by hand, as the master's and minions' healthchecks are.
"""

from __future__ import annotations

import json
import sys
import urllib.request

__all__ = ["healthy", "main"]


def healthy(url: str = "http://127.0.0.1:8080", timeout: float = 3.0) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/v1/health", timeout=timeout) as response:
            return bool(json.loads(response.read()).get("ok"))
    except (OSError, ValueError):
        return False


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    return 0 if (healthy(args[0]) if args else healthy()) else 1


if __name__ == "__main__":
    sys.exit(main())
