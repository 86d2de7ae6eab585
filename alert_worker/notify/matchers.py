"""Alertmanager label matchers: `name="v"`, `name!="v"`, `name=~"re"`, `name!~"re"` (regexes anchored)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

Op = Literal["=", "!=", "=~", "!~"]
_MATCHER = re.compile(r'^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*(?:"((?:[^"\\]|\\.)*)"|([^"\s]*))\s*$')


@dataclass(frozen=True)
class Matcher:
    """One label matcher; a missing label matches as the empty string (Alertmanager semantics)."""

    name: str
    op: Op
    value: str

    def matches(self, labels: Mapping[str, str]) -> bool:
        actual = labels.get(self.name, "")
        if self.op == "=":
            return actual == self.value
        if self.op == "!=":
            return actual != self.value
        hit = re.fullmatch(self.value, actual) is not None
        return hit if self.op == "=~" else not hit

    def __str__(self) -> str:
        escaped = self.value.replace("\\", "\\\\").replace('"', '\\"')
        return f'{self.name}{self.op}"{escaped}"'


def parse_matcher(text: str) -> Matcher:
    """Parse `name="value"`; raises ValueError naming the allowed form."""
    m = _MATCHER.match(text)
    if not m:
        raise ValueError(f'invalid matcher {text!r}; use name="value", name!="value", name=~"regex" or name!~"regex"')
    raw = m.group(3) if m.group(3) is not None else m.group(4)
    value = re.sub(r"\\(.)", r"\1", raw)
    op: Op = m.group(2)  # type: ignore[assignment]  # the regex only captures the four operators
    if op in {"=~", "!~"}:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"invalid regex in matcher {text!r}: {exc}") from exc
    return Matcher(m.group(1), op, value)


def matches_all(matchers: Iterable[Matcher], labels: Mapping[str, str]) -> bool:
    return all(m.matches(labels) for m in matchers)


def matcher_test(matchers: Iterable[Matcher]) -> Callable[[Mapping[str, str]], bool]:
    """`matches_all` for these matchers as one function; (in)equality matchers, the usual kind, become dict lookups."""
    ms = tuple(matchers)
    if not all(m.op in ("=", "!=") for m in ms):
        return lambda labels: matches_all(ms, labels)
    if len(ms) == 1:
        name, value = ms[0].name, ms[0].value
        if ms[0].op == "=":
            return lambda labels: labels.get(name, "") == value
        return lambda labels: labels.get(name, "") != value
    triples = tuple((m.name, m.value, m.op == "=") for m in ms)
    return lambda labels: all((labels.get(n, "") == v) is eq for n, v, eq in triples)
