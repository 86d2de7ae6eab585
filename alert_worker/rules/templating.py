"""Annotation templates in Prometheus' Go-template dialect (the subset alert rules use).

Supported: `{{ $labels.name }}`, `{{ $value }}`, `{{ $externalLabels.name }}`, `.Labels.name`,
`.Value`, string and number literals, pipelines (`{{ $value | humanize }}`), calls
(`{{ humanizePercentage $value }}`, `{{ printf "%.1f" $value }}`), comments and `{{-`/`-}}` trimming.
`{{ query "expr" | first | value }}` runs an instant query at the evaluation time, as Prometheus does; with
no result (or no query adapter, as when a rule file is checked) `first` gives nothing and `value` NaN, where
Prometheus would fail the whole template. Control actions (`if`, `range`, `with`, ...) are rejected when
the rule is loaded.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from alert_worker.exceptions import TemplateError
from alert_worker.rules import humanize as hz

_ACTION = re.compile(r"\{\{(-?)(.*?)(-?)\}\}", re.S)
_CONTROL = frozenset({"if", "else", "end", "range", "with", "define", "template", "block", "break", "continue"})


def _printf(fmt: str, *args: object) -> str:
    py_fmt = fmt.replace("%v", "%s")
    converted = tuple(hz.go_float(a) if isinstance(a, float) and "%s" in py_fmt else a for a in args)
    try:
        return py_fmt % converted
    except (TypeError, ValueError) as exc:
        raise TemplateError(f"printf {fmt!r}: {exc}") from exc


def _num(value: object) -> float:
    try:
        return float(str(value))
    except ValueError as exc:
        raise TemplateError(f"expected a number, got {value!r}") from exc


FUNCTIONS: Mapping[str, Callable[..., str]] = {
    "humanize": lambda v: hz.humanize(_num(v)),
    "humanize1024": lambda v: hz.humanize1024(_num(v)),
    "humanizePercentage": lambda v: hz.humanize_percentage(_num(v)),
    "humanizeDuration": lambda v: hz.humanize_duration(_num(v)),
    "printf": _printf,
    "toUpper": lambda v: str(v).upper(),
    "toLower": lambda v: str(v).lower(),
    "title": lambda v: str(v).title(),
}


class QueryResult(Protocol):
    """One series of an instant-query result, as `query` hands it to `first`, `value` and `label`."""

    @property
    def labels(self) -> Mapping[str, str]: ...

    @property
    def value(self) -> float: ...


Query = Callable[[str], Sequence[QueryResult]]
"""Runs a PromQL instant query at the evaluation time (injected by the engine)."""


@dataclass(frozen=True)
class TemplateData:
    """What a template sees: the alert's labels, its value, the external labels and the `query` adapter."""

    labels: Mapping[str, str]
    value: float
    external_labels: Mapping[str, str]
    query: Query | None = None


def _first(results: object) -> object:
    if isinstance(results, list | tuple):
        return results[0] if results else None
    raise TemplateError(f"first expects the result of query, got {results!r}")


def _value(result: object) -> float:
    return float("nan") if result is None else float(getattr(result, "value", "nan"))


def _label(name: str, result: object) -> str:
    return "" if result is None else str(getattr(result, "labels", {}).get(name, ""))


def _query(data: TemplateData, expr: object) -> list[Any]:
    return [] if data.query is None else list(data.query(str(expr)))


_RESULT_FUNCTIONS: Mapping[str, Callable[..., object]] = {"first": _first, "value": _value, "label": _label}


def _operand(token: str, data: TemplateData) -> object:
    maps = {"$labels": data.labels, ".Labels": data.labels, "$externalLabels": data.external_labels}
    for prefix, mapping in maps.items():
        if token.startswith(prefix + "."):
            return mapping.get(token[len(prefix) + 1 :], "")
    if token in {"$value", ".Value"}:
        return data.value
    if token in {"$labels", ".Labels"}:
        return dict(data.labels)
    if re.fullmatch(r"-?\d+(\.\d+)?([eE][-+]?\d+)?", token):
        return float(token) if any(c in token for c in ".eE") else int(token)
    raise TemplateError(f"unknown name {token!r}; use $labels.<name>, $value or $externalLabels.<name>")


def _command(tokens: list[str], piped: object, data: TemplateData, has_piped: bool) -> object:
    head, *rest = tokens
    args: list[object] = [_literal_or_operand(t, data) for t in rest] + ([piped] if has_piped else [])
    if head == "query":
        if len(args) != 1:
            raise TemplateError("query takes one PromQL expression")
        return _query(data, args[0])
    if head in _RESULT_FUNCTIONS:
        return _RESULT_FUNCTIONS[head](*args)
    if head in FUNCTIONS:
        return FUNCTIONS[head](*args)
    if rest or has_piped:
        known = ", ".join(sorted({*FUNCTIONS, *_RESULT_FUNCTIONS, "query"}))
        raise TemplateError(f"{head!r} is not a function; known functions: {known}")
    return _literal_or_operand(head, data)


def _literal_or_operand(token: str, data: TemplateData) -> object:
    if token.startswith("\x00"):
        return token[1:]
    return _operand(token, data)


def _tokens(command: str) -> list[str]:
    out = []
    for raw in re.findall(r'"(?:[^"\\]|\\.)*"|`[^`]*`|\S+', command):
        if raw[0] in '"`':
            out.append("\x00" + (bytes(raw[1:-1], "utf-8").decode("unicode_escape") if raw[0] == '"' else raw[1:-1]))
        else:
            out.append(raw)
    return out


@functools.lru_cache(maxsize=4096)
def _pipeline(body: str) -> tuple[list[str], ...]:
    """The commands of an action, tokenized once per distinct body (a rule renders it for every series)."""
    commands = []
    for part in (p.strip() for p in re.split(r'\|(?=(?:[^"]*"[^"]*")*[^"]*$)', body)):
        if not part:
            raise TemplateError(f"empty command in {{{{{body}}}}}")
        commands.append(_tokens(part))
    return tuple(commands)


def _eval_action(body: str, data: TemplateData) -> str:
    result: object = None
    for i, tokens in enumerate(_pipeline(body)):
        result = _command(tokens, result, data, has_piped=i > 0)
    if isinstance(result, float):
        return hz.go_float(result)
    return "" if result is None else str(result)


def check_template(text: str) -> None:
    """Raise TemplateError if `text` uses syntax Heron cannot render."""
    for match in _ACTION.finditer(text):
        body = match.group(2).strip()
        if body.startswith("/*"):
            continue
        first = body.split(None, 1)[0] if body else ""
        if first in _CONTROL:
            raise TemplateError(f"template action {{{{ {first} }}}} is not supported; use a plain expression")
    render(text, TemplateData({}, 1.0, {}))
    if text.count("{{") != text.count("}}"):
        raise TemplateError(f"unbalanced braces in template {text!r}")


def render(text: str, data: TemplateData) -> str:
    """Expand every `{{ ... }}` in `text`; raises TemplateError on unknown names or functions."""
    if "{{" not in text:
        return text
    out: list[str] = []
    pos = 0
    for match in _ACTION.finditer(text):
        literal = text[pos : match.start()]
        if match.group(1):
            literal = literal.rstrip()
        out.append(literal)
        body = match.group(2).strip()
        if not body.startswith("/*"):
            out.append(_eval_action(body, data))
        pos = match.end()
        if match.group(3):
            while pos < len(text) and text[pos].isspace():
                pos += 1
    out.append(text[pos:])
    return "".join(out)
