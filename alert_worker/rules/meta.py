"""Heron's own alerts about alerting: rule failures, Prometheus unreachable, no data, flapping."""

from __future__ import annotations

from collections.abc import Mapping

from alert_worker.rules.evaluator import Matched
from alert_worker.rules.model import AlertRule
from alert_worker.rules.state import AlertInstance, fingerprint

UNREACHABLE = "HeronPrometheusUnreachable"
LOGS_UNREACHABLE = "HeronLogStoreUnreachable"
RULE_FAILED = "HeronRuleEvaluationFailed"
NO_DATA = "HeronNoData"
FLAPPING = "HeronAlertFlapping"


def meta_rule(name: str, group: str) -> AlertRule:
    """Synthetic rule whose matches the engine supplies; it fires at once and never waits for data."""
    return AlertRule(name=name, expr=f"heron:{name}", group=group, no_data="resolve", source="heron")


def _matched(labels: Mapping[str, str], annotations: Mapping[str, str]) -> tuple[str, Matched]:
    return fingerprint(labels), Matched(dict(labels), dict(annotations), 1.0)


def unreachable(group: str, error: str, *, logs: bool = False) -> dict[str, Matched]:
    """The source of a group cannot be asked: Prometheus, or VictoriaLogs for `type: vlogs` groups."""
    name, store = (LOGS_UNREACHABLE, "Log store (VictoriaLogs)") if logs else (UNREACHABLE, "Prometheus")
    labels = {"alertname": name, "heron_group": group, "severity": "critical"}
    summary = f"{store} unreachable: rule group {group} cannot be evaluated; alerts are held, none resolve"
    return dict([_matched(labels, {"summary": summary, "description": error})])


def rule_failed(group: str, rule: AlertRule, error: str) -> tuple[str, Matched]:
    labels = {"alertname": RULE_FAILED, "heron_group": group, "heron_rule": rule.name, "severity": "warning"}
    return _matched(labels, {"summary": f"Rule {rule.name} ({rule.source}) cannot be evaluated", "description": error})


def derived(kind: str, alert: AlertInstance) -> tuple[str, Matched]:
    """A no-data or flapping alert keeping the original labels, named after `kind`."""
    labels = {**alert.labels, "alertname": kind, "heron_rule": alert.labels.get("alertname", "")}
    if kind == NO_DATA:
        summary = f"No data for {labels['heron_rule']}: its series stopped reporting; the alert is held firing"
    else:
        summary = f"{labels['heron_rule']} is flapping; notifications are held until it settles"
    return _matched(labels, {**alert.annotations, "summary": summary})
