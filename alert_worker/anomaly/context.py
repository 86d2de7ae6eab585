"""Give firing anomaly alerts their full message: the usual value and spread, queried at evaluation time."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Protocol

from alert_worker.anomaly.message import describe
from alert_worker.exceptions import SourceError
from alert_worker.rules.evaluator import Matched, Sample
from alert_worker.rules.model import AlertRule


class Source(Protocol):
    def query(self, expr: str, at: float) -> list[Sample]: ...


def _key(labels: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((k, v) for k, v in labels.items() if k != "__name__"))


def baseline_queries(prefix: str, with_seasonal: bool = True) -> tuple[str, str]:
    """PromQL for the usual value and spread of the series recorded under `prefix`."""
    if with_seasonal:
        return f"{prefix}:seasonal_avg or {prefix}:avg", f"{prefix}:seasonal_stddev or {prefix}:stddev"
    return f"{prefix}:avg", f"{prefix}:stddev"


def annotate(source: Source, rule: AlertRule, matched: Mapping[str, Matched], at: float) -> dict[str, Matched]:
    """`matched` with each alert's summary rewritten to the anomaly message.

    When the baseline cannot be read the summary the rule file renders (the z-score alone) stays:
    a message without the usual value beats no alert.
    """
    if not matched or not rule.anomaly:
        return dict(matched)
    mean_q, sigma_q = baseline_queries(rule.anomaly)
    try:
        means = {_key(s.labels): s.value for s in source.query(mean_q, at)}
        sigmas = {_key(s.labels): s.value for s in source.query(sigma_q, at)}
    except SourceError:
        return dict(matched)
    out = {}
    for fp, m in matched.items():
        key = _key({k: v for k, v in m.labels.items() if k != "alertname" and k not in rule.labels})
        if key in means and key in sigmas:
            subject = m.annotations.get("subject", rule.name)
            text = describe(subject, m.value, means[key], sigmas[key], at, rule.anomaly_unit)
            out[fp] = replace(m, annotations={**m.annotations, "summary": text})
        else:
            out[fp] = m
    return out
