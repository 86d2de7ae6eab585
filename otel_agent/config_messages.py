"""Config errors in the agent's words: the field, the value, where it came from and what is allowed."""

from __future__ import annotations

import re
import typing
from collections.abc import Mapping
from typing import Any, NamedTuple

import msgspec

from otel_agent.exceptions import ConfigError

_MESSAGE = re.compile(r"^(?P<msg>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.S)
_KINDS = {"int": "an integer", "float": "a number", "str": "a string", "bool": "true or false", "object": "a mapping"}
_BOUNDS = (
    (">=", "greater than or equal to"),
    ("<=", "less than or equal to"),
    (">", "greater than"),
    ("<", "less than"),
)


class Problem(NamedTuple):
    path: str
    value: object
    message: str

    @classmethod
    def from_validation(cls, text: str, data: Mapping[str, Any], root: type[msgspec.Struct]) -> Problem:
        """Turn a msgspec validation message (`Expected ... - at `$.a.b``) into a Problem."""
        match = _MESSAGE.match(text)
        msg, raw_path = (match["msg"], match["path"] or "") if match else (text, "")
        parts = [p for p in re.sub(r"\[(?:'([^']*)'|(\d+))\]", r".\1\2", raw_path).split(".") if p]
        if unknown := re.match(r"Object contains unknown field `([^`]*)`", msg):
            allowed = ", ".join(sorted(f.name for f in msgspec.structs.fields(_struct_at(root, parts) or root)))
            parts.append(unknown[1])
            return cls(".".join(parts), _value_at(data, parts), f"unknown setting; allowed here: {allowed}")
        return cls(".".join(parts), _value_at(data, parts), _rephrase(msg, _choices(root, parts)))


def _value_at(data: object, parts: list[str]) -> object:
    for part in parts:
        if isinstance(data, Mapping):
            data = data.get(part)
        elif isinstance(data, list | tuple) and part.isdigit() and int(part) < len(data):
            data = data[int(part)]
        else:
            return None
    return data


def _origin(origin: Mapping[str, str], path: str) -> str:
    """Where a value came from: the setting itself, or the list or mapping that holds it."""
    while path:
        if path in origin:
            return origin[path]
        path = path.rpartition(".")[0]
    return "default"


def _field_type(root: type[msgspec.Struct], parts: list[str]) -> Any:
    hint: Any = root
    for part in parts:
        if not (isinstance(hint, type) and issubclass(hint, msgspec.Struct)):
            return None
        hint = next((f.type for f in msgspec.structs.fields(hint) if f.name == part), None)
    return hint


def _struct_at(root: type[msgspec.Struct], parts: list[str]) -> type[msgspec.Struct] | None:
    hint = _field_type(root, parts)
    return hint if isinstance(hint, type) and issubclass(hint, msgspec.Struct) else None


def _choices(root: type[msgspec.Struct], parts: list[str]) -> tuple[object, ...]:
    hint = _field_type(root, parts)
    return typing.get_args(hint) if typing.get_origin(hint) is typing.Literal else ()


def _rephrase(msg: str, choices: tuple[object, ...]) -> str:
    if choices:
        quoted = [repr(c) for c in choices]
        return "must be " + (" or ".join(quoted) if len(quoted) < 3 else ", ".join(quoted[:-1]) + " or " + quoted[-1])
    expected = re.match(r"Expected `([^`]+)`(?:, got `[^`]+`)?(.*)$", msg)
    if expected is None:
        return msg
    kinds = [_KINDS.get(k.strip(), k.strip()) for k in expected[1].split("|") if k.strip() != "null"]
    rule = expected[2]
    for symbol, words in _BOUNDS:
        rule = rule.replace(f" {symbol} ", f" {words} ")
    return f"must be {' or '.join(kinds)}{rule}"


def explain(problems: list[Problem], origin: Mapping[str, str]) -> ConfigError:
    """One ConfigError listing every problem; header values are never shown."""
    lines = []
    for p in problems:
        shown = "<redacted>" if p.path.startswith("export.headers") else repr(p.value)
        lines.append(f"config field '{p.path}' = {shown} (from {_origin(origin, p.path)}): {p.message}")
    first = problems[0]
    return ConfigError("\n".join(lines), field=first.path, value=first.value)
