"""What every saltsim daemon's command line shares: the log option and its setup."""

from __future__ import annotations

import argparse
import logging
import sys

__all__ = ["add_log_option", "setup_logging"]

LOG_FORMAT = "%(asctime)s [%(name)s] %(levelname)s %(message)s"


def add_log_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-l",
        "--log-level",
        default="warning",
        choices=["debug", "info", "warning", "error", "critical"],
    )


def setup_logging(level: str) -> None:
    """Logs go to stderr; stdout is kept for the daemon's JSON status lines."""
    logging.basicConfig(level=level.upper(), stream=sys.stderr, format=LOG_FORMAT)
