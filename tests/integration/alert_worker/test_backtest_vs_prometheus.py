"""`alert-worker rules backtest` finds the episodes Prometheus' own rule engine fired, on the same data.

A real Prometheus scrapes a value that crosses the threshold three times and evaluates the rule itself
(its `ALERTS` series). The backtest then replays the same rule file over the same range; each episode's
start and end agree within one evaluation step.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from alert_worker.rules.backtest import align, backtest
from alert_worker.rules.loader import load_rule_files
from alert_worker.sources.prometheus import PrometheusSource
from tests.helpers import prom_query
from tests.integration.alert_worker.support import MetricsTarget, PrivatePrometheus

pytestmark = pytest.mark.integration

STEP = 2.0
RULES = """
groups:
  - name: backtest
    interval: 2s
    rules:
      - alert: BacktestProbe
        expr: bt_value > 0.5
        for: 4s
"""
PATTERN = [(1.0, 14.0), (0.0, 8.0)] * 3  # (value, seconds): three episodes


def _episodes_from_alerts(series: list[dict], step: float) -> list[tuple[float, float]]:
    """Runs of the firing ALERTS series: (first, last + step) of each run of consecutive points."""
    out: list[tuple[float, float]] = []
    for s in series:
        times = [float(t) for t, _ in s["values"]]
        run = [times[0]]
        for t in times[1:]:
            if t - run[-1] > step * 1.5:
                out.append((run[0], run[-1]))
                run = [t]
            else:
                run.append(t)
        out.append((run[0], run[-1]))
    return sorted(out)


@pytest.mark.parametrize("flavour", ["v3", "debian"])
def test_backtest_agrees_with_prometheus_on_the_same_data(tmp_path: Path, flavour: str) -> None:
    """On the Prometheus compose ships (v3) and the one `make up` runs (Debian's)."""
    rule_file = tmp_path / "backtest.rules.yml"
    rule_file.write_text(RULES)
    target = MetricsTarget()
    target.set("bt_value", 0.0)
    prometheus = PrivatePrometheus(tmp_path, rule_file, target.port, "2s", flavour)
    try:
        began = time.time()

        def drive() -> None:
            for value, seconds in PATTERN:
                target.set("bt_value", value)
                time.sleep(seconds)

        driver = threading.Thread(target=drive)
        driver.start()
        driver.join()
        ended = time.time()
        # Prometheus' verdict: the raw samples its rule engine wrote while the alert fired (one per evaluation).
        window = int(ended - began) + 5
        fired = prom_query(prometheus.url, f'ALERTS{{alertname="BacktestProbe",alertstate="firing"}}[{window}s]', ended)
        theirs = _episodes_from_alerts(fired, STEP)

        (rule,) = [r for g in load_rule_files([rule_file]) for r in g.rules]
        start, stop = align(began, ended, STEP)
        source = PrometheusSource(prometheus.url, timeout=30)
        try:
            ours = backtest(rule, source.query_range(rule.expr, start, stop, STEP), start, stop, STEP)
        finally:
            source.close()
    finally:
        prometheus.close()
        target.close()

    assert len(theirs) == 3, theirs
    assert len(ours) == 3, ours
    # One step: Prometheus evaluates at its own phase, the backtest on the step grid.
    tolerance = STEP
    for (their_start, their_last), episode in zip(theirs, ours, strict=True):
        assert abs(episode.fired_at - their_start) <= tolerance, (episode, their_start)
        assert episode.resolved_at is not None
        # Prometheus' last firing point is one evaluation before the one that resolved it.
        assert abs(episode.resolved_at - (their_last + STEP)) <= tolerance, (episode, their_last)
