"""Compose's variable interpolation: `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?err}`,
`${VAR?err}`, `${VAR:+alt}`, `${VAR+alt}` and `$$` for a literal `$`, as compose applies it to values
before it validates the file. Defaults may nest (`${A:-${B:-x}}`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_OPERATORS = (":-", ":?", ":+", "-", "?", "+")


class InterpolationError(ValueError):
    """A required variable is missing, or the text is not valid interpolation syntax; `path` says where."""

    def __init__(self, message: str, path: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.path = path


@dataclass
class Interpolator:
    """Substitutes variables from `env`; a missing required one takes `placeholder` when one is given.

    `required` collects the names of every `${VAR:?...}` / `${VAR?...}` met, set or not.
    """

    env: Mapping[str, str]
    placeholder: str | None = None
    required: set[str] = field(default_factory=set)

    def text(self, value: str) -> str:
        out: list[str] = []
        i = 0
        while i < len(value):
            char = value[i]
            if char != "$":
                out.append(char)
                i += 1
                continue
            following = value[i + 1 : i + 2]
            if following == "$":
                out.append("$")
                i += 2
            elif following == "{":
                end = _closing_brace(value, i + 2)
                out.append(self._braced(value[i + 2 : end]))
                i = end + 1
            elif match := _NAME.match(value, i + 1):
                out.append(self.env.get(match.group(), ""))
                i = match.end()
            else:
                raise InterpolationError(f"invalid interpolation format in {value!r}: a lone '$' (write '$$')")
        return "".join(out)

    def _braced(self, body: str) -> str:
        match = _NAME.match(body)
        if match is None:
            raise InterpolationError(f"invalid variable name in '${{{body}}}'")
        name, rest = match.group(), body[match.end() :]
        if not rest:
            return self.env.get(name, "")
        operator = next((op for op in _OPERATORS if rest.startswith(op)), None)
        if operator is None:
            raise InterpolationError(f"invalid interpolation format in '${{{body}}}'")
        argument = rest[len(operator) :]
        value = self.env.get(name)
        present = value is not None and (value != "" or not operator.startswith(":"))
        kind = operator[-1]
        if kind == "-":
            return value if present and value is not None else self.text(argument)
        if kind == "+":
            return self.text(argument) if present else ""
        self.required.add(name)
        if present and value is not None:
            return value
        if self.placeholder is not None:
            return self.placeholder
        raise InterpolationError(f"required variable {name} is missing a value: {self.text(argument)}")

    def document(self, node: Any, path: tuple[str, ...] = ()) -> Any:
        """Interpolate every string value (not keys) of a parsed YAML document."""
        if isinstance(node, str):
            try:
                return self.text(node)
            except InterpolationError as exc:
                raise InterpolationError(exc.message, path) from None
        if isinstance(node, dict):
            return {key: self.document(value, (*path, str(key))) for key, value in node.items()}
        if isinstance(node, list):
            return [self.document(item, (*path, f"[{i}]")) for i, item in enumerate(node)]
        return node


def _closing_brace(value: str, start: int) -> int:
    depth = 1
    i = start
    while i < len(value):
        if value.startswith("${", i):
            depth += 1
            i += 2
            continue
        if value[i] == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    raise InterpolationError(f"unclosed '${{' in {value!r}")


def interpolate(document: Any, env: Mapping[str, str], *, placeholder: str | None = None) -> Any:
    """`document` with compose's interpolation applied; see `Interpolator`."""
    return Interpolator(env, placeholder).document(document)
