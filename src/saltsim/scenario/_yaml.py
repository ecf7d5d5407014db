"""YAML that remembers where each value was written, so every error can name its line.

``load_located`` returns plain Python values, except that mappings are ``YMap`` and
lists ``YList``: a ``dict`` / ``list`` that also know the line of every key and item.
Duplicate keys, custom tags and recursive aliases are errors, not silently resolved.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from saltsim.scenario._errors import ScenarioError

__all__ = ["YList", "YMap", "load_located", "plain"]

_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_MERGE_TAG = "tag:yaml.org,2002:merge"


class YMap(dict[Any, Any]):
    """A mapping with ``line`` (where it starts) and the line of each key and value."""

    def __init__(self, line: int) -> None:
        super().__init__()
        self.line = line
        self.key_lines: dict[Any, int] = {}
        self.value_lines: dict[Any, int] = {}

    def line_of(self, key: Any) -> int:
        """The line of ``key``'s value, or of the mapping when the key is absent."""
        return self.value_lines.get(key, self.line)

    def key_line(self, key: Any) -> int:
        return self.key_lines.get(key, self.line)


class YList(list[Any]):
    """A list with ``line`` (where it starts) and the line of each item."""

    def __init__(self, line: int) -> None:
        super().__init__()
        self.line = line
        self.lines: list[int] = []

    def line_of(self, index: int) -> int:
        return self.lines[index] if 0 <= index < len(self.lines) else self.line


def _line(node: Node) -> int:
    return int(node.start_mark.line) + 1


class _Builder:
    def __init__(self, loader: yaml.SafeLoader, source: str) -> None:
        self._loader = loader
        self._source = source
        self._active: set[int] = set()

    def fail(self, node: Node, problem: str) -> ScenarioError:
        return ScenarioError(self._source, _line(node), problem)

    def build(self, node: Node) -> Any:
        if id(node) in self._active:
            raise self.fail(node, "recursive YAML alias")
        self._active.add(id(node))
        try:
            if isinstance(node, MappingNode):
                return self._mapping(node)
            if isinstance(node, SequenceNode):
                return self._sequence(node)
            return self._loader.construct_object(node, deep=True)
        finally:
            self._active.discard(id(node))

    def _mapping(self, node: MappingNode) -> YMap:
        if node.tag != _MAP_TAG:
            raise self.fail(node, f"unsupported YAML tag {node.tag!r} on a mapping")
        own = sum(1 for key, _ in node.value if key.tag != _MERGE_TAG)
        self._loader.flatten_mapping(node)  # resolves `<<: *anchor`; merged pairs come first
        merged = len(node.value) - own
        result = YMap(_line(node))
        for position, (key_node, value_node) in enumerate(node.value):
            if not isinstance(key_node, ScalarNode):
                raise self.fail(key_node, "mapping keys must be plain scalars")
            key = self._loader.construct_object(key_node, deep=True)
            if key in result and position >= merged and result.key_lines[key] != -1:
                first = result.key_lines[key]
                raise self.fail(key_node, f"duplicate key {key!r} (first at line {first})")
            result[key] = self.build(value_node)
            # A key that came from a merge may be overridden once by an own key.
            result.key_lines[key] = -1 if position < merged else _line(key_node)
            result.value_lines[key] = _line(value_node)
        for key, line in result.key_lines.items():
            if line == -1:
                result.key_lines[key] = result.value_lines[key]
        return result

    def _sequence(self, node: SequenceNode) -> YList:
        if node.tag != _SEQ_TAG:
            raise self.fail(node, f"unsupported YAML tag {node.tag!r} on a list")
        result = YList(_line(node))
        for item in node.value:
            result.append(self.build(item))
            result.lines.append(_line(item))
        return result


def load_located(text: str, source: str) -> Any:
    """Parse one YAML document; ``ScenarioError`` with line and column when it is broken."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        return None if node is None else _Builder(loader, source).build(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "cannot parse"
        if mark is None:
            raise ScenarioError(source, None, f"broken YAML: {problem}") from exc
        where = f"broken YAML at column {mark.column + 1}"
        raise ScenarioError(source, mark.line + 1, f"{where}: {problem}") from exc
    except yaml.YAMLError as exc:
        raise ScenarioError(source, None, f"broken YAML: {exc}") from exc
    finally:
        loader.dispose()


def plain(value: Any) -> Any:
    """``value`` with every ``YMap`` / ``YList`` turned into a plain ``dict`` / ``list``."""
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value
