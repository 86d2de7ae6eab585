"""Inline recording rules into an expression, so `rules backtest` can replay rules over raw past data.

Prometheus records a series only from the moment its rule is loaded: an alert on recorded series
(SLO burn rates, for one) has no past to replay. Replacing `name{label="v"}` by the recording rule's
own expression, with the rule's static labels put back by `label_replace`, gives the same result
computed from the raw series, which do have a past. The rewrite works on promql-parser's syntax tree:
matchers on static labels pick the rules (`=`, `!=`, `=~`, `!~`), and `offset` moves into every selector
and subquery of the inlined expression. What cannot be inlined exactly (a range over a recorded series,
`@`, matchers on labels the rule's expression makes) raises ExpandError naming the selector.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import promql_parser as pp
import yaml

from alert_worker.exceptions import AlertWorkerError


class ExpandError(AlertWorkerError, ValueError):
    """Recorded series left in an expression after inlining; `problems` names each selector and why."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


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


def _matches(op: Any, value: str, wanted: str) -> bool:
    if op == pp.MatchOp.Equal:
        return value == wanted
    if op == pp.MatchOp.NotEqual:
        return value != wanted
    found = re.fullmatch(wanted, value) is not None
    return found if op == pp.MatchOp.Re else not found


def _shift(expr: str, offset: timedelta) -> str:
    """`expr` as evaluated `offset` earlier: the offset added to each selector and outermost subquery
    not pinned by `@` (an offset cannot follow an expression in PromQL, only a selector or subquery)."""
    depth = 0

    def add(node: Any) -> Any:
        node.offset = (node.offset or timedelta()) + offset
        return pp.parse(str(node))

    def pre(node: Any) -> None:
        nonlocal depth
        if isinstance(node, pp.SubqueryExpr):
            depth += 1

    def post(node: Any) -> Any:
        nonlocal depth
        if isinstance(node, pp.SubqueryExpr):
            depth -= 1
            return add(node) if depth == 0 and node.at is None else None
        if isinstance(node, pp.VectorSelector) and depth == 0 and node.at is None:
            return add(node)
        return None

    return str(pp.transform(pp.parse(expr), pre_visit=pre, post_visit=post))


def _with_labels(rule: Recording, offset: timedelta | None) -> str:
    expr = f"({_shift(rule.expr, offset) if offset else rule.expr})"
    for key, value in sorted(rule.labels.items()):
        expr = f'label_replace({expr}, "{key}", "{value}", "", "")'
    return expr


def _inline(node: Any, rules: Sequence[Recording]) -> tuple[str | None, str | None]:
    """(replacement PromQL, None) for a selector of recorded series, or (None, why it cannot be inlined)."""
    if node.at is not None:
        return None, "`@` on a recorded series cannot be inlined"
    if node.matchers.or_matchers:
        return None, "`or` between matcher sets cannot be inlined"
    chosen = [r for r in rules if r.name == node.name]
    for matcher in node.matchers.matchers:
        if matcher.name == "__name__":
            continue
        static = [r for r in chosen if matcher.name in r.labels]
        if len(static) != len(chosen):
            return None, (
                f"label {matcher.name!r} is not a static label of every `{node.name}` recording rule, "
                "so the selector cannot be inlined exactly"
            )
        chosen = [r for r in chosen if _matches(matcher.op, r.labels[matcher.name], matcher.value)]
    if not chosen:
        return None, f"no `{node.name}` recording rule has static labels matching it"
    return "(" + " or ".join(_with_labels(r, node.offset) for r in chosen) + ")", None


def _substitute(expr: str, rules: Sequence[Recording]) -> tuple[str, list[str]]:
    names = {r.name for r in rules}
    problems: list[str] = []
    in_range = 0

    def pre(node: Any) -> Any:
        nonlocal in_range
        if isinstance(node, pp.MatrixSelector):
            in_range += 1
            if node.vector_selector.name in names:
                problems.append(
                    f"{node}: a range over a recorded series cannot be inlined; "
                    "write it as a subquery over the series' expression"
                )
            return None
        if not isinstance(node, pp.VectorSelector) or node.name not in names or in_range:
            return None
        replacement, problem = _inline(node, rules)
        if replacement is None:
            problems.append(f"{node}: {problem}")
            return None
        return pp.parse(replacement)

    def post(node: Any) -> None:
        nonlocal in_range
        if isinstance(node, pp.MatrixSelector):
            in_range -= 1

    return str(pp.transform(pp.parse(expr), pre_visit=pre, post_visit=post)), problems


def expand(expr: str, rules: Sequence[Recording], depth: int = 5) -> str:
    """`expr` with every selector of recorded series replaced by its rules' expressions.

    Raises ExpandError naming each recorded series left in the result and why (or that the rules nest
    deeper than `depth`)."""
    names = {r.name for r in rules}
    if not names or not any(name in expr for name in names):
        return expr
    for _ in range(depth):
        expanded, problems = _substitute(expr, rules)
        if problems:
            raise ExpandError(problems)
        if expanded == expr:
            return expr
        expr = expanded
    left: list[str] = []
    pp.walk(
        pp.parse(expr),
        pre_visit=lambda n: left.append(str(n)) if isinstance(n, pp.VectorSelector) and n.name in names else None,
    )
    if left:
        raise ExpandError([f"{s}: recording rules nest deeper than {depth} levels" for s in left])
    return expr
