"""Anomaly files: defaults, and every bad field refused with its file, line, name and what is allowed."""

from __future__ import annotations

import pytest

from alert_worker.anomaly.spec import parse_specs, retention_warnings
from alert_worker.exceptions import RuleFileError

GOOD = """\
interval: 30s
anomalies:
  - name: checkout_rate
    alert: CheckoutRateAnomaly
    expr: sum by (service_name) (rate(http_server_request_duration_seconds_count[5m]))
    subject: "{{ $labels.service_name }} request rate"
    unit: req/s
"""


def _problems(extra: str) -> list[str]:
    with pytest.raises(RuleFileError) as exc:
        parse_specs(GOOD + extra, "pack.yml")
    return exc.value.problems


def test_defaults() -> None:
    parsed = parse_specs(GOOD, "pack.yml")
    (spec,) = parsed.specs
    assert parsed.interval_s == 30
    assert (spec.prefix, spec.z, spec.min_abs, spec.window_s, spec.warmup_s) == (
        "anomaly:checkout_rate",
        4.0,
        0.0,
        3600.0,
        1800.0,
    )
    assert (spec.direction, spec.seasonal_weeks, spec.for_s, spec.source) == ("both", 3, 180.0, "pack.yml:3")


@pytest.mark.parametrize(
    ("field", "value", "expect"),
    [
        ("min_abs", "-1", "pack.yml:8: anomalies[0].min_abs: invalid value -1; min_abs must be >= 0"),
        ("window", '""', "pack.yml:8: anomalies[0].window: invalid duration ''"),
        ("window", "0s", "pack.yml:8: anomalies[0].window: invalid value '0s'; window must be a duration above zero"),
        ("kind", "forecast", "pack.yml:8: anomalies[0].kind: unknown rule kind 'forecast'; allowed: anomaly"),
        ("direction", "up", "pack.yml:8: anomalies[0].direction: invalid value 'up'; allowed: above, below, both"),
        ("z", "yes", "pack.yml:8: anomalies[0].z: invalid value True; z must be a number >= 0.5"),
        ("seasonal_weeks", "12", "pack.yml:8: anomalies[0].seasonal_weeks: invalid value 12; use a whole number"),
        ("warmup", "2h", "pack.yml:8: anomalies[0].warmup: warmup '2h' is longer than window"),
        ("colour", "red", "pack.yml:8: anomalies[0].colour: unknown field 'colour'"),
        ("labels", "{'team-name': x}", "pack.yml:8: anomalies[0].labels.team-name: invalid label name 'team-name'"),
        ("expr", "'rate(x[5m]'", "pack.yml:8: anomalies[0].expr: invalid PromQL 'rate(x[5m]'"),
        (
            "severity",
            "urgent",
            "pack.yml:8: anomalies[0].severity: invalid value 'urgent'; allowed: critical, page, ticket, warning, info",
        ),
        (
            "labels",
            "{severity: critical}",
            "pack.yml:8: anomalies[0].labels.severity: label 'severity' is set by Heron; "
            "use the rule's `severity` field",
        ),
        ("labels", "{alertname: X}", "pack.yml:8: anomalies[0].labels.alertname: label 'alertname' is set by Heron"),
    ],
)
def test_bad_field_is_named_with_its_line(field: str, value: str, expect: str) -> None:
    problems = _problems(f"    {field}: {value}\n")
    assert any(p.startswith(expect) for p in problems), problems


def test_window_must_hold_two_samples() -> None:
    (problem,) = _problems("    window: 30s\n    warmup: 0s\n")
    assert problem.startswith(
        "pack.yml:8: anomalies[0].window: invalid value '30s'; window must hold at least two samples"
    ), problem


def test_duplicate_names_and_missing_list() -> None:
    twice = GOOD + GOOD.split("anomalies:\n", 1)[1]
    with pytest.raises(RuleFileError) as exc:
        parse_specs(twice, "pack.yml")
    assert exc.value.problems == [
        "pack.yml:8: anomalies[1].name: duplicate name 'checkout_rate'; names must be unique per file"
    ]
    with pytest.raises(
        RuleFileError, match=r"pack.yml:1: anomalies: an anomaly file needs a top-level 'anomalies' list"
    ):
        parse_specs("interval: 30s\n", "pack.yml")


def test_history_longer_than_retention_is_warned_naming_field_value_and_retention() -> None:
    (spec,) = parse_specs(GOOD + "    seasonal_weeks: 8\n", "pack.yml").specs
    assert spec.history_s == 56 * 86400 + 1800
    assert retention_warnings((spec,), 35 * 86400) == [
        "pack.yml:3: seasonal_weeks: warning: anomaly 'checkout_rate' seasonal_weeks 8 (window 1h) reads back "
        "56d30m, longer than Prometheus' retention 35d; its seasonal mean silently averages only the weeks still "
        "kept; raise Prometheus' --storage.tsdb.retention.time or query a long-retention store "
        "(Thanos, VictoriaMetrics)"
    ]
    (default,) = parse_specs(GOOD, "pack.yml").specs
    assert retention_warnings((default,), 35 * 86400) == []
    (flat,) = parse_specs(GOOD + "    seasonal_weeks: 0\n    window: 2d\n", "pack.yml").specs
    (line,) = retention_warnings((flat,), 86400)
    assert line.startswith("pack.yml:3: window: warning: anomaly 'checkout_rate' window 2d reads back 2d, longer")
