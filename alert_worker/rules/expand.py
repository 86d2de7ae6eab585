"""Inline recording rules into an expression, so `rules backtest` can replay rules over raw past data.

Prometheus records a series only from the moment its rule is loaded: an alert on recorded series
(SLO burn rates, for one) has no past to replay. Expanding `name{label="v"}` into the recording rule's
own expression, with the rule's static labels put back by `label_replace`, gives the same result
computed from the raw series, which do have a past.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

_SELECTOR = r"(?<![\w:\"'])({names})(?![\w:])(\{{[^{{}}]*\}})?(?!\s*[\[({{])"
_MATCHER = re.compile(r'^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*$')


@dataclass(frozen=True)
class Recording:
    """One recording rule: the series name it writes, its static labels and its expression."""

    name: str
    expr: str
    labels: dict[str, str] = field(default_factory=dict)


def load_recording_rules(paths: Iterable[Path]) -> list[Recording]:
    """Recording rules of Prometheus rule files (files Prometheus itself validates; unreadable ones raise)."""
    out = []
    for path in paths:
        doc: Any = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for group in doc.get("groups") or []:
            for rule in group.get("rules") or []:
                if "record" in rule:
                    labels = {str(k): str(v) for k, v in (rule.get("labels") or {}).items()}
                    out.append(Recording(str(rule["record"]), str(rule["expr"]).strip(), labels))
    return out


def _matchers(text: str | None) -> dict[str, str] | None:
    """`{a="x", b="y"}` as a dict; None when a matcher is not a plain equality (left unexpanded)."""
    if not text or not text.strip("{} \n"):
        return {}
    out = {}
    for part in re.split(r",(?=(?:[^\"]*\"[^\"]*\")*[^\"]*$)", text.strip()[1:-1]):
        if not part.strip():
            continue
        found = _MATCHER.match(part)
        if not found:
            return None
        out[found[1]] = found[2]
    return out


def _with_labels(rule: Recording) -> str:
    expr = f"({rule.expr})"
    for key, value in sorted(rule.labels.items()):
        expr = f'label_replace({expr}, "{key}", "{value}", "", "")'
    return expr


def _substitute(expr: str, rules: Sequence[Recording]) -> str:
    names = sorted({r.name for r in rules}, key=len, reverse=True)
    pattern = re.compile(_SELECTOR.format(names="|".join(map(re.escape, names))))

    def replace(found: re.Match[str]) -> str:
        wanted = _matchers(found[2])
        if wanted is None:
            return found[0]
        chosen = [r for r in rules if r.name == found[1] and all(r.labels.get(k) == v for k, v in wanted.items())]
        if not chosen or any(k not in r.labels for r in chosen for k in wanted):
            return found[0]
        return "(" + " or ".join(_with_labels(r) for r in chosen) + ")"

    return pattern.sub(replace, expr)


def expand(expr: str, rules: Sequence[Recording], depth: int = 5) -> str:
    """`expr` with every recorded series it selects by equality matchers replaced by its rule's expression."""
    if not rules:
        return expr
    for _ in range(depth):
        expanded = _substitute(expr, rules)
        if expanded == expr:
            break
        expr = expanded
    return expr
