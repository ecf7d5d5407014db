"""YAML bodies, loaded by PyYAML's safe loader with the work bounded.

salt-api loads ``application/x-yaml`` bodies with ``yaml.safe_load``, which expands
aliases: a 159 KB "billion laughs" body became hundreds of MB before the credentials
in it were even looked at. Here the composer refuses aliases outright (an API body has
no use for them), counts nodes and nesting as it goes, and so stops at the first node
past a limit, before the rest of the document is even scanned. Timestamps stay
strings (JSON has no dates; the bus could not carry a datetime).
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.composer import ComposerError
from yaml.nodes import Node, ScalarNode

from saltsim_master.api.errors import BadRequest
from saltsim_master.api.limits import BodyLimits

__all__ = ["load_yaml"]

_SHOWN = 300  # characters of PyYAML's message kept in the 400's body


class _BoundedLoader(yaml.SafeLoader):
    def __init__(self, text: str, limits: BodyLimits) -> None:
        super().__init__(text)
        self._limits = limits
        self._nodes = 0
        self._depth = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        if self.check_event(yaml.AliasEvent):
            mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
            raise ComposerError(None, None, "aliases (*name) are not accepted", mark)
        self._nodes += 1
        if self._nodes > self._limits.max_fields:
            raise self._limits.too_many("YAML nodes")
        self._depth += 1
        try:
            if self._depth > self._limits.max_depth + 1:  # scalars count one below
                raise self._limits.too_deep()
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _timestamp_as_text(loader: _BoundedLoader, node: ScalarNode) -> str:
    return str(loader.construct_scalar(node))


_BoundedLoader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp_as_text)


def load_yaml(text: str, limits: BodyLimits) -> Any:
    """The document's data, or ``BadRequest`` (malformed, aliases, past the limits)."""
    try:
        loader = _BoundedLoader(text, limits)  # its reader refuses control characters here
        try:
            return loader.get_single_data()
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        raise BadRequest(f"Invalid YAML document: {str(exc)[:_SHOWN]}") from None
