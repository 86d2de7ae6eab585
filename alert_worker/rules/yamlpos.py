"""YAML loading that remembers the line of every value, so errors can say `file:line`."""

from __future__ import annotations

from typing import Any

import yaml

Path = tuple[str | int, ...]


class Located:
    """Plain Python data from a YAML document plus the 1-based line of every path in it."""

    def __init__(self, data: Any, lines: dict[Path, int]) -> None:
        self.data = data
        self.lines = lines

    def line(self, path: Path) -> int:
        """Line of `path`, or of its closest located parent."""
        while path and path not in self.lines:
            path = path[:-1]
        return self.lines.get(path, 1)


def _convert(node: yaml.Node, path: Path, lines: dict[Path, int]) -> Any:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            lines[(*path, key)] = key_node.start_mark.line + 1
            out[key] = _convert(value_node, (*path, key), lines)
            lines[(*path, key)] = key_node.start_mark.line + 1
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_convert(item, (*path, i), lines) for i, item in enumerate(node.value)]
    return _scalar(node)


def _scalar(node: yaml.Node) -> Any:
    # PyYAML's own tag rules resolve ints, bools and nulls.
    loader = yaml.SafeLoader("")
    try:
        return loader.construct_object(node, deep=True)
    finally:
        loader.dispose()


def load_located(text: str) -> Located:
    """Parse one YAML document; raises yaml.YAMLError (with a mark) on a syntax error."""
    node = yaml.compose(text, Loader=yaml.SafeLoader)
    lines: dict[Path, int] = {}
    data = None if node is None else _convert(node, (), lines)
    return Located(data, lines)
