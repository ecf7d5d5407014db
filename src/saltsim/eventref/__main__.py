"""``python -m saltsim.eventref [--check] REFERENCE PAGE``: write the page's tables from
the reference (``make events-doc``), or with ``--check`` exit 1 when the page differs."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from saltsim.eventref._model import EventReferenceError, Reference
from saltsim.eventref._render import render_page


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m saltsim.eventref", description=__doc__)
    parser.add_argument("reference", type=Path, help="the YAML reference (docs/events.yaml)")
    parser.add_argument("page", type=Path, help="the page with the tables (docs/EVENTS.md)")
    parser.add_argument("--check", action="store_true", help="only say whether it is current")
    args = parser.parse_args(argv)
    try:
        page = args.page.read_text(encoding="utf-8")
        written = render_page(Reference.read(args.reference), page)
    except (OSError, EventReferenceError) as exc:
        print(f"eventref: {exc}", file=sys.stderr)
        return 2
    if written == page:
        print(f"{args.page} is current")
        return 0
    if args.check:
        print(f"{args.page} differs from {args.reference}: run make events-doc", file=sys.stderr)
        return 1
    args.page.write_text(written, encoding="utf-8")
    print(f"wrote {args.page}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
