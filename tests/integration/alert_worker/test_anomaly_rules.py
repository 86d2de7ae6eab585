"""The compiled anomaly rule on real Prometheus data: two weeks of seasonal history backfilled with promtool.

The recording rules are evaluated over that history by promtool's rule backfill, and the alert rule
is replayed over it by Heron's backtest, exactly as the engine would have evaluated it.
"""

from __future__ import annotations

import math
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from alert_worker.anomaly.compile import compile_files, compile_spec
from alert_worker.anomaly.context import annotate
from alert_worker.anomaly.message import SIGMA
from alert_worker.anomaly.spec import AnomalySpec, parse_specs
from alert_worker.anomaly.stats import seasonal, trailing
from alert_worker.rules.backtest import Episode, backtest
from alert_worker.rules.evaluator import EvalSettings, match_results
from alert_worker.rules.loader import parse_rules
from alert_worker.rules.model import AlertRule
from alert_worker.sources.prometheus import PrometheusSource
from tests.fixtures.anomaly import (
    DAY,
    WEEK,
    HistoryPrometheus,
    Injected,
    Season,
    inject,
    openmetrics,
    promtool_binary,
    seasonal_series,
)

pytestmark = pytest.mark.integration

STEP = 300.0
SPEC = """
interval: 5m
anomalies:
  - name: test_requests
    alert: TestRequestsAnomaly
    expr: heron_test_requests
    subject: "{{ $labels.series }} requests"
    unit: req/s
    direction: both
    z: 4
    min_abs: 5
    window: 1h
    warmup: 30m
    seasonal_weeks: 2
    for: 10m
"""
END = math.floor(time.time() / 3600) * 3600 - 3 * 3600
START = END - 15 * DAY
SEASON = Season(level=100, daily=0.3, weekend=0.2, noise=3)
EARLY_SPIKE = Injected("spike", START + 600, 900, 40)  # inside the warm-up: must not fire
SPIKE = Injected("spike", START + 12 * DAY + 14 * 3600, 1200, 40)


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[HistoryPrometheus, AnomalySpec]]:
    parsed = parse_specs(SPEC, "test-anomaly.yml")
    (spec,) = parsed.specs
    clean = seasonal_series(SEASON, START, END, STEP, seed=1)
    spiky = inject(seasonal_series(SEASON, START, END, STEP, seed=2), [EARLY_SPIKE, SPIKE])
    prom = HistoryPrometheus(tmp_path_factory.mktemp("anomaly-prom"))
    try:
        prom.backfill_series(openmetrics("heron_test_requests", {'series="clean"': clean, 'series="spiky"': spiky}))
        compiled = compile_spec(spec, parsed.interval_s)
        for level in ("series", "baseline"):
            group = {"name": level, "interval": "5m", "rules": compiled[level]}
            prom.backfill_rules([group], START, END, "5m")
        yield prom, spec
    finally:
        prom.close()


def _rule(spec: AnomalySpec) -> AlertRule:
    _, alerts = compile_files((spec,), STEP, "test-anomaly.yml")
    (group,) = parse_rules(alerts, "heron-anomaly.rules.yml")
    (rule,) = group.rules
    return rule


def _episodes(prom: HistoryPrometheus, rule: AlertRule, start: float, end: float) -> dict[str, list[Episode]]:
    source = PrometheusSource(prom.url, timeout=60)
    try:
        matrix = source.query_range(rule.expr, start, end, STEP)
    finally:
        source.close()
    out: dict[str, list[Episode]] = {"clean": [], "spiky": []}
    for ep in backtest(rule, matrix, start, end, STEP):
        out[ep.labels["series"]].append(ep)
    return out


def test_fires_on_an_injected_spike_and_stays_quiet_on_a_clean_seasonal_week(
    history: tuple[HistoryPrometheus, AnomalySpec],
) -> None:
    prom, spec = history
    rule = _rule(spec)
    week = _episodes(prom, rule, START + 8 * DAY, END)
    assert week["clean"] == [], "false alerts on the clean seasonal series"
    (episode,) = week["spiky"]
    assert SPIKE.start <= episode.fired_at <= SPIKE.end + 2 * STEP, (episode, SPIKE)


def test_no_alert_while_the_baseline_warms_up(history: tuple[HistoryPrometheus, AnomalySpec]) -> None:
    prom, spec = history
    first_hours = _episodes(prom, _rule(spec), START, START + 6 * 3600)
    assert first_hours == {"clean": [], "spiky": []}


def test_the_baseline_promql_matches_the_reference_arithmetic(history: tuple[HistoryPrometheus, AnomalySpec]) -> None:
    """Prometheus evaluating the baseline rules' PromQL agrees with the Python reference on the same samples."""
    prom, spec = history
    at = SPIKE.start + 2 * STEP
    series = f'{spec.prefix}:value{{series="spiky"}}'
    baseline = {r["record"].rsplit(":", 1)[1]: r["expr"] for r in compile_spec(spec, STEP)["baseline"]}
    source = PrometheusSource(prom.url, timeout=60)
    try:

        def samples(lo: float, hi: float) -> list[float]:
            # Range selectors are left-open: (lo, hi].
            matrix = source.query_range(series, lo + STEP, hi, STEP)
            return [v for _, v in matrix[0][1]] if matrix else []

        def evaluated(name: str) -> float:
            (sample,) = source.query(f"({baseline[name]}) and {series}", at)
            return sample.value

        weeks = [w for k in (1, 2) if len(w := samples(at - k * WEEK - 1800, at - k * WEEK + 1800)) >= 6]
        recent = samples(at - 3600, at)
        expected, trail = seasonal(weeks), trailing(recent)
        assert len(weeks) == 1
        assert expected is not None
        assert evaluated("seasonal_avg") == pytest.approx(expected.mean, rel=1e-9)
        assert evaluated("seasonal_stddev") == pytest.approx(expected.sigma, rel=1e-9)
        assert evaluated("avg") == pytest.approx(trail.mean, rel=1e-9)
        assert evaluated("stddev") == pytest.approx(trail.sigma, rel=1e-9)
        assert evaluated("samples") == len(recent) == 12
    finally:
        source.close()


def test_the_message_names_the_hour_of_the_week_and_the_usual_value(
    history: tuple[HistoryPrometheus, AnomalySpec],
) -> None:
    prom, spec = history
    rule = _rule(spec)
    at = SPIKE.start + 3 * STEP
    source = PrometheusSource(prom.url, timeout=60)
    try:
        matched = match_results(rule, source.query(rule.expr, at), EvalSettings())
        (alert,) = annotate(source, rule, matched, at).values()
    finally:
        source.close()
    summary = alert.annotations["summary"]
    assert summary.startswith("spiky requests is "), summary
    assert f"{SIGMA} above its usual value for " in summary
    assert time.strftime("%A %H:00", time.gmtime(at)) in summary
    assert summary.endswith(" req/s)"), summary
    assert "(usual " in summary, summary


@pytest.mark.parametrize("component", ["promtool3", "promtool"])  # compose's v3, and Debian's for `make up`
def test_the_default_pack_loads_in_promtool(component: str) -> None:
    root = Path(__file__).resolve().parents[3] / "prometheus"
    files = [root / "recording" / "heron-anomaly.recording.yml", root / "rules" / "heron-anomaly.rules.yml"]
    done = subprocess.run(
        [str(promtool_binary(component)), "check", "rules", *map(str, files)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
