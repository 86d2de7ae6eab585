"""YAML loading that remembers the line of every value, so errors can say `file:line: field: message`.

Shared by the rule, SLO and anomaly file loaders: `load_or_raise` (YAML syntax errors), `Problems`
(located messages) and `label_name_problem` (Prometheus label names).
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from alert_worker.exceptions import RuleFileError

Path = tuple[str | int, ...]
LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
"""A Prometheus label name (also an alert name)."""


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


def load_or_raise(text: str, filename: str) -> Located:
    """`load_located`, with a YAML syntax error raised as RuleFileError `file:line: invalid YAML: ...`."""
    try:
        return load_located(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        raise RuleFileError([f"{filename}:{line}: invalid YAML: {getattr(exc, 'problem', exc)}"]) from exc


def field_name(path: Path) -> str:
    """`("groups", 0, "rules", 2, "expr")` as `groups[0].rules[2].expr`."""
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")


class Problems:
    """Collects `file:line: field: message` lines for one located document."""

    def __init__(self, filename: str, doc: Located) -> None:
        self.filename, self.doc = filename, doc
        self.problems: list[str] = []

    def error(self, path: Path, message: str) -> None:
        self.problems.append(f"{self.filename}:{self.doc.line(path)}: {field_name(path)}: {message}")


def label_name_problem(key: object, what: str = "label") -> str | None:
    """`invalid label name 'x-y'; use letters, digits and _`, or None for a valid name."""
    if LABEL_NAME.match(str(key)):
        return None
    return f"invalid {what} name {key!r}; use letters, digits and _"
