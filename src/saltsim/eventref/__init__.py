"""The event reference: every tag and payload saltsim's master produces, per dialect.

The reference is a YAML file (docs/events.yaml) read into a ``Reference``;
``render_page`` writes its tables into the page (docs/EVENTS.md, ``make events-doc``),
and ``ReferenceChecker`` checks recorded events against it: an unknown tag, a missing or
an extra key is a problem naming the tag, the dialect and the key, and ``unseen`` lists
the forms no event showed. ``python -m saltsim.eventref [--check] REFERENCE PAGE``.
"""

from saltsim.eventref._check import Coverage, ReferenceChecker, form_problems, value_fits
from saltsim.eventref._model import (
    DIALECTS,
    ORIGINS,
    Entry,
    EventReferenceError,
    Form,
    Item,
    Reference,
)
from saltsim.eventref._render import payload_text, render_page, render_section

__all__ = [
    "DIALECTS",
    "ORIGINS",
    "Coverage",
    "Entry",
    "EventReferenceError",
    "Form",
    "Item",
    "Reference",
    "ReferenceChecker",
    "form_problems",
    "payload_text",
    "render_page",
    "render_section",
    "value_fits",
]
