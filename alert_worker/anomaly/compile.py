"""Compile anomaly specs to Prometheus recording rules (the baseline) and a Heron alert rule (the z-score).

Recorded per spec, with the labels of `expr`:
    anomaly:<name>:value            the expression itself
    anomaly:<name>:avg / :stddev    mean and standard deviation over the trailing window
    anomaly:<name>:samples          samples in the trailing window (the warm-up guard)
    anomaly:<name>:seasonal_avg     mean of the same time of week over the last weeks (a window
                                    centred on now - k weeks, for each week with enough samples)
    anomaly:<name>:seasonal_stddev  spread around that mean: within-window and between-week variance
The baseline rules read only `:value`, so a rule backfill needs two passes and a live Prometheus
records everything one interval after the value.
"""

from __future__ import annotations

import math
from typing import Any

import yaml

from alert_worker.anomaly.message import SIGMA
from alert_worker.anomaly.spec import AnomalySpec
from alert_worker.rules.durations import format_duration
from alert_worker.rules.model import ANNOTATION_ANOMALY, ANNOTATION_ANOMALY_UNIT

SERIES_GROUP = "heron-anomaly-series"
BASELINE_GROUP = "heron-anomaly-baseline"
ALERT_GROUP = "heron-anomaly"
WEEK_S = 7 * 86400
WEEK_LABEL = "anomaly_week"


def _num(value: float) -> str:
    return repr(float(value)) if not float(value).is_integer() else str(int(value))


def warmup_samples(spec: AnomalySpec, interval_s: float) -> int:
    """Samples the trailing window must hold before the rule may fire."""
    return max(2, math.ceil(spec.warmup_s / interval_s))


def _per_week(spec: AnomalySpec, func: str, interval_s: float) -> list[str]:
    window = format_duration(spec.window_s)
    need = max(2, math.ceil(spec.window_s / interval_s / 2))
    out = []
    for k in range(1, spec.seasonal_weeks + 1):
        offset = format_duration(k * WEEK_S - spec.window_s / 2)
        value = f"{spec.prefix}:value[{window}] offset {offset}"
        out.append(
            f'label_replace({func}({value}) and (count_over_time({value}) >= {need}), "{WEEK_LABEL}", "{k}", "", "")'
        )
    return out


def recording_rules(spec: AnomalySpec, interval_s: float) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """(value rules, baseline rules) of one spec."""
    p, window = spec.prefix, format_duration(spec.window_s)
    series = [{"record": f"{p}:value", "expr": spec.expr}]
    baseline = [
        {"record": f"{p}:avg", "expr": f"avg_over_time({p}:value[{window}])"},
        {"record": f"{p}:stddev", "expr": f"stddev_over_time({p}:value[{window}])"},
        {"record": f"{p}:samples", "expr": f"count_over_time({p}:value[{window}])"},
    ]
    if spec.seasonal_weeks:
        means = " or ".join(_per_week(spec, "avg_over_time", interval_s))
        spreads = " or ".join(f"{w} ^ 2" for w in _per_week(spec, "stddev_over_time", interval_s))
        baseline += [
            {"record": f"{p}:seasonal_avg", "expr": f"avg without ({WEEK_LABEL}) ({means})"},
            {
                "record": f"{p}:seasonal_stddev",
                "expr": f"sqrt(avg without ({WEEK_LABEL}) ({spreads}) + stddev without ({WEEK_LABEL}) ({means}) ^ 2)",
            },
        ]
    return series, baseline


def expected_expr(spec: AnomalySpec, sel: str = "") -> str:
    """The usual value now: the seasonal mean where a past week has data, else the trailing mean.

    `sel` (such as `{host_name="web-1"}`) narrows every recorded series, for dashboards.
    """
    p = spec.prefix
    return f"({p}:seasonal_avg{sel} or {p}:avg{sel})" if spec.seasonal_weeks else f"{p}:avg{sel}"


def sigma_expr(spec: AnomalySpec, sel: str = "") -> str:
    """The usual spread, floored at min_abs / z so a flat series gives a finite score."""
    p = spec.prefix
    raw = f"({p}:seasonal_stddev{sel} or {p}:stddev{sel})" if spec.seasonal_weeks else f"{p}:stddev{sel}"
    floor = spec.min_abs / spec.z
    return f"clamp_min({raw}, {_num(floor)})" if floor > 0 else raw


def zscore_expr(spec: AnomalySpec, sel: str = "") -> str:
    return f"({spec.prefix}:value{sel} - {expected_expr(spec, sel)}) / {sigma_expr(spec, sel)}"


def alert_expr(spec: AnomalySpec, interval_s: float) -> str:
    """The z-score where it passes the threshold, the deviation passes min_abs (and min_rel), warm-up is over."""
    z, dev, threshold = zscore_expr(spec), f"({spec.prefix}:value - {expected_expr(spec)})", _num(spec.z)
    rel = f"{_num(spec.min_rel)} * {expected_expr(spec)}"
    if spec.direction == "above":
        cond = f"({z}) > {threshold} and {dev} > {_num(spec.min_abs)}"
        cond += f" and {dev} > {rel}" if spec.min_rel else ""
    elif spec.direction == "below":
        cond = f"({z}) < -{threshold} and {dev} < -{_num(spec.min_abs)}"
        cond += f" and -{dev} > {rel}" if spec.min_rel else ""
    else:
        cond = f"(({z}) > {threshold} or ({z}) < -{threshold}) and abs{dev} > {_num(spec.min_abs)}"
        cond += f" and abs{dev} > {rel}" if spec.min_rel else ""
    return f"{cond} and {spec.prefix}:samples >= {warmup_samples(spec, interval_s)}"


def alert_rule(spec: AnomalySpec, interval_s: float) -> dict[str, Any]:
    """The alert rule Heron's engine evaluates; its value is the signed z-score."""
    side = {"above": "above", "below": "below", "both": "away from"}[spec.direction]
    rule: dict[str, Any] = {
        "alert": spec.alert,
        "expr": alert_expr(spec, interval_s),
    }
    if spec.for_s:
        rule["for"] = format_duration(spec.for_s)
    rule["labels"] = {"severity": spec.severity, **dict(spec.labels)}
    rule["annotations"] = {
        "subject": spec.subject,
        "summary": f'{spec.subject} is {{{{ printf "%.1f" $value }}}}{SIGMA} off its usual value',
        "description": (
            f"{spec.subject} is more than {_num(spec.z)} standard deviations {side} its usual value "
            f"(same time of week over the last {spec.seasonal_weeks} weeks, else the last "
            f"{format_duration(spec.window_s)}) and off by more than {_num(spec.min_abs)}"
            + (f" and {spec.min_rel:.0%} of it." if spec.min_rel else ".")
        ),
        ANNOTATION_ANOMALY: spec.prefix,
    }
    if spec.unit:
        rule["annotations"][ANNOTATION_ANOMALY_UNIT] = spec.unit
    return rule


def compile_spec(spec: AnomalySpec, interval_s: float) -> dict[str, Any]:
    """Everything one spec produces: {'series': [...], 'baseline': [...], 'alert': {...}}."""
    series, baseline = recording_rules(spec, interval_s)
    return {"series": series, "baseline": baseline, "alert": alert_rule(spec, interval_s)}


HEADER = "# Generated by `alert-worker anomaly compile` from {source}; edit that file, not this one.\n"


def _dump(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100000)


def compile_files(specs: tuple[AnomalySpec, ...], interval_s: float, source: str) -> tuple[str, str]:
    """(recording rule file, alert rule file) for `specs`, as YAML text."""
    interval = format_duration(interval_s)
    compiled = [compile_spec(s, interval_s) for s in specs]
    recording = {
        "groups": [
            {"name": SERIES_GROUP, "interval": interval, "rules": [r for c in compiled for r in c["series"]]},
            {"name": BASELINE_GROUP, "interval": interval, "rules": [r for c in compiled for r in c["baseline"]]},
        ]
    }
    alerts = {"groups": [{"name": ALERT_GROUP, "interval": interval, "rules": [c["alert"] for c in compiled]}]}
    head = HEADER.format(source=source)
    return head + _dump(recording), head + _dump(alerts)
