"""Rules created through the API: validated like file rules, evaluated as the `heron-api` group."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import yaml

from alert_worker.exceptions import RuleFileError, ShorthandError
from alert_worker.rules.loader import parse_rules
from alert_worker.rules.model import RuleGroup
from alert_worker.rules.shorthand import compile_shorthand

API_GROUP = "heron-api"
API_INTERVAL_S = 30.0
_FIELDS = {"alert", "expr", "condition", "for", "keep_firing_for", "labels", "annotations"}


class RuleInputError(ValueError):
    """An API rule body is invalid; `field` names the offending field."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(f"{field}: {message}")


def normalize_rule(body: Any) -> dict[str, Any]:
    """A Prometheus-style rule dict from an API body (`condition` shorthand compiles to expr/for)."""
    if not isinstance(body, dict):
        raise RuleInputError("body", "expected a JSON object with alert and expr (or condition)")
    unknown = sorted(set(body) - _FIELDS)  # who made a change comes from the token, never from the body
    if unknown:
        raise RuleInputError(unknown[0], f"unknown field; allowed: {', '.join(sorted(_FIELDS))}")
    for key in ("alert", "expr", "condition", "for", "keep_firing_for"):
        if key in body and not isinstance(body[key], str):
            raise RuleInputError(key, f"expected a string, got {body[key]!r}")
    for key in ("labels", "annotations"):
        value = body.get(key, {})
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            raise RuleInputError(key, "expected an object of names to strings")
    rule = {k: body[k] for k in ("alert", "expr", "for", "keep_firing_for", "labels", "annotations") if k in body}
    if "condition" in body:
        if "expr" in body:
            raise RuleInputError("condition", "give either expr or condition, not both")
        try:
            compiled = compile_shorthand(str(body["condition"]))
        except ShorthandError as exc:
            raise RuleInputError("condition", str(exc)) from exc
        rule["expr"] = compiled.expr
        rule.setdefault("for", compiled.for_text)
    if not isinstance(rule.get("alert"), str):
        raise RuleInputError("alert", "the alert name is required")
    check_rules({rule["alert"]: rule})
    return rule


def check_rules(rules: Mapping[str, Mapping[str, Any]]) -> RuleGroup:
    """The API group for `rules`; RuleInputError names the field of the first problem."""
    doc = {"groups": [{"name": API_GROUP, "interval": f"{API_INTERVAL_S:g}s", "rules": list(rules.values())}]}
    try:
        (group,) = parse_rules(yaml.safe_dump(doc, sort_keys=False), "api")
    except RuleFileError as exc:
        first = exc.problems[0]
        match = re.search(r"rules\[\d+\]\.?([^:]*): (.*)$", first)
        if match:
            raise RuleInputError(match.group(1) or "rule", match.group(2)) from exc
        raise RuleInputError("rule", first) from exc
    return group


def api_group(stored: Mapping[str, Mapping[str, Any]]) -> RuleGroup:
    """Stored API rules as a group (metadata such as author stripped)."""
    rules = {name: {k: v for k, v in r.get("rule", {}).items()} for name, r in stored.items()}
    if not rules:
        return RuleGroup(API_GROUP, API_INTERVAL_S, (), "api")
    return check_rules(rules)
