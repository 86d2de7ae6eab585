"""The anomaly message names the hour of the week and the usual value with its spread, in the series' unit."""

from __future__ import annotations

from datetime import UTC, datetime

from alert_worker.anomaly.context import annotate
from alert_worker.anomaly.message import describe
from alert_worker.exceptions import SourceError
from alert_worker.rules.evaluator import Matched, Sample
from alert_worker.rules.model import AlertRule

TUESDAY_1423 = datetime(2026, 12, 1, 14, 23, tzinfo=UTC).timestamp()


def test_message_for_a_rate() -> None:
    text = describe("checkout request rate", 4.2, 120, 15, TUESDAY_1423, "req/s")
    assert text == "checkout request rate is 4.2\u03c3 above its usual value for Tuesday 14:00 (usual 120 ± 15 req/s)"


def test_plain_units_read_at_three_significant_figures_without_milli_prefixes() -> None:
    assert describe("r", 48.8, 99.95, 0.9986, TUESDAY_1423, "req/s").endswith("(usual 100 ± 0.999 req/s)")
    assert describe("r", 5, 12.34, 0.05, TUESDAY_1423, "req/s").endswith("(usual 12.3 ± 0.05 req/s)")
    assert describe("q", 5, 999.7, 0, TUESDAY_1423, "").endswith("(usual 999.7 ± 0)")
    assert describe("q", 5, 45_300, 0.004, TUESDAY_1423, "jobs").endswith("(usual 45.3k ± 4m jobs)")


def test_message_for_ratio_and_seconds_and_below() -> None:
    assert describe("errors", 5.0, 0.012, 0.004, TUESDAY_1423, "ratio").endswith("(usual 1.2% ± 0.4%)")
    latency = describe("p95", -4.5, 0.12, 0.015, TUESDAY_1423, "seconds")
    assert latency == "p95 is 4.5\u03c3 below its usual value for Tuesday 14:00 (usual 120ms ± 15ms)"


class _Source:
    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.asked: list[str] = []

    def query(self, expr: str, at: float) -> list[Sample]:
        self.asked.append(expr)
        if self.fail:
            raise SourceError("prometheus down", transient=True)
        value = 120.0 if "avg" in expr else 15.0
        return [Sample({"__name__": "x", "service_name": "checkout"}, value)]


RULE = AlertRule(
    "AppRequestRateAnomaly", "x", "g", labels={"severity": "warning"}, anomaly="anomaly:r", anomaly_unit="req/s"
)
MATCHED = {
    "fp": Matched(
        {"service_name": "checkout", "alertname": "AppRequestRateAnomaly", "severity": "warning"},
        {"subject": "checkout request rate", "summary": "checkout request rate is 4.2\u03c3 off its usual value"},
        4.2,
    )
}


def test_annotate_rewrites_the_summary_from_the_recorded_baseline() -> None:
    source = _Source()
    (alert,) = annotate(source, RULE, MATCHED, TUESDAY_1423).values()
    assert alert.annotations["summary"] == (
        "checkout request rate is 4.2\u03c3 above its usual value for Tuesday 14:00 (usual 120 ± 15 req/s)"
    )
    assert source.asked == ["anomaly:r:seasonal_avg or anomaly:r:avg", "anomaly:r:seasonal_stddev or anomaly:r:stddev"]


def test_annotate_keeps_the_rule_summary_when_the_baseline_cannot_be_read() -> None:
    (alert,) = annotate(_Source(fail=True), RULE, MATCHED, TUESDAY_1423).values()
    assert alert.annotations["summary"] == "checkout request rate is 4.2\u03c3 off its usual value"
