"""The anomaly recording rules evaluated live by Prometheus itself, and the alert on them through Heron's engine.

A real Prometheus scrapes a steady series every second and records the compiled baseline; the
engine evaluates the compiled alert rule against it: quiet while the baseline warms up and while the
series is steady, firing with the usual value in its message once the series jumps.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from alert_worker.anomaly.compile import compile_files
from alert_worker.anomaly.spec import parse_specs
from alert_worker.engine import Engine, evaluate_group
from alert_worker.models import NotificationJob
from alert_worker.notify.routing import parse_routing
from alert_worker.rules.loader import parse_rules
from alert_worker.rules.model import RuleGroup
from alert_worker.sources.prometheus import PrometheusSource
from alert_worker.state.memory import MemoryStore
from tests.fixtures.alerting import MetricsTarget, PrivatePrometheus
from tests.helpers import prom_query, wait_for

pytestmark = pytest.mark.integration

SPEC = """
interval: 1s
anomalies:
  - name: live_requests
    alert: LiveRequestsAnomaly
    expr: heron_live_requests
    subject: live requests
    unit: req/s
    direction: above
    z: 4
    min_abs: 5
    window: 30s
    warmup: 10s
    seasonal_weeks: 0
    for: 0s
"""
ROUTING = parse_routing(
    "route:\n  receivers: [console]\n  group_wait: 0s\n  group_interval: 1s\n  cooldown: 0s\n", "routing.yaml"
)


class Steady:
    """100 req/s give or take 1, alternating each second; `level` moves the whole series."""

    def __init__(self) -> None:
        self.level = 100.0

    def render(self) -> str:
        return f"heron_live_requests {self.level + (1 if int(time.time()) % 2 else -1)}\n"


@pytest.fixture
def live(tmp_path: Path) -> Iterator[tuple[Steady, PrivatePrometheus, RuleGroup]]:
    parsed = parse_specs(SPEC, "live.yml")
    recording, alerts = compile_files(parsed.specs, parsed.interval_s, "live.yml")
    (tmp_path / "anomaly.recording.yml").write_text(recording)
    (group,) = parse_rules(alerts, "anomaly.rules.yml")
    series = Steady()
    target = MetricsTarget(series.render)
    prom = PrivatePrometheus(tmp_path, tmp_path / "anomaly.recording.yml", target.port, "1s")
    try:
        yield series, prom, RuleGroup(group.name, 1.0, group.rules)
    finally:
        prom.close()
        target.close()


def test_quiet_while_steady_then_fires_with_the_usual_value(live: tuple[Steady, PrivatePrometheus, RuleGroup]) -> None:
    series, prom, group = live
    sent: list[NotificationJob] = []
    source = PrometheusSource(prom.url, timeout=10)
    engine = Engine(source=source, store=MemoryStore(), routing=ROUTING, enqueue=sent.append)
    try:
        # Warm-up, then steady: every evaluation stays quiet.
        wait_for(lambda: prom_query(prom.url, "anomaly:live_requests:samples >= 15"), timeout=60, what="baseline")

        def recorded_after(after: float) -> float | None:
            """When Prometheus last recorded the baseline, if that is later than `after`."""
            (sample,) = prom_query(prom.url, "timestamp(anomaly:live_requests:avg)")
            at = float(sample["value"][1])
            return at if at > after else None

        last = 0.0
        for _ in range(5):  # five evaluations, each against a baseline recorded after the one before
            last = wait_for(lambda after=last: recorded_after(after), timeout=30, what="a newly recorded baseline")
            evaluate_group(engine, group, time.time())
        assert sent == [], "the steady series paged"
        series.level = 160.0

        def fired() -> list[NotificationJob]:
            evaluate_group(engine, group, time.time())
            return sent

        (job,) = wait_for(fired, timeout=30, what="the anomaly alert on the jump")
    finally:
        source.close()
    (alert,) = job.alerts
    assert alert.labels["alertname"] == "LiveRequestsAnomaly"
    summary = alert.annotations["summary"]
    assert summary.startswith("live requests is "), summary
    assert "\u03c3 above its usual value for " in summary
    usual = re.search(r"\(usual (\S+) ± (\S+) req/s\)$", summary)
    assert usual, summary
    # The trailing mean: 100 give or take 1 before the jump, pulled up a little by the first samples at 160.
    assert 95 <= float(usual[1]) < 130, summary
