"""What an anomaly spec compiles to, and the default pack's generated files staying in step with their source."""

from __future__ import annotations

from pathlib import Path

from alert_worker.anomaly.compile import alert_expr, compile_files, compile_spec, warmup_samples
from alert_worker.anomaly.spec import AnomalySpec, parse_specs
from alert_worker.rules.loader import parse_rules

ROOT = Path(__file__).resolve().parents[4]
SPEC = AnomalySpec(name="cpu", alert="CpuAnomaly", expr="host_cpu", subject="CPU", unit="ratio", z=3, min_abs=0.1)


def test_recording_rules_read_only_the_recorded_value() -> None:
    compiled = compile_spec(SPEC, 30)
    assert compiled["series"] == [{"record": "anomaly:cpu:value", "expr": "host_cpu"}]
    names = [r["record"] for r in compiled["baseline"]]
    assert names == [f"anomaly:cpu:{n}" for n in ("avg", "stddev", "samples", "seasonal_avg", "seasonal_stddev")]
    for rule in compiled["baseline"]:
        assert "host_cpu" not in rule["expr"]
    seasonal = compiled["baseline"][3]["expr"]
    # Windows centred on the same time 1, 2 and 3 weeks ago, each counted only with half a window of samples.
    for offset in ("6d23h30m", "13d23h30m", "20d23h30m"):
        assert f"anomaly:cpu:value[1h] offset {offset}) >= 60" in seasonal


def test_no_seasonal_rules_when_weeks_is_zero() -> None:
    spec = AnomalySpec(name="cpu", alert="A", expr="host_cpu", subject="CPU", seasonal_weeks=0)
    names = [r["record"] for r in compile_spec(spec, 30)["baseline"]]
    assert names == ["anomaly:cpu:avg", "anomaly:cpu:stddev", "anomaly:cpu:samples"]
    assert "seasonal" not in alert_expr(spec, 30)


def test_alert_expression_guards() -> None:
    expr = alert_expr(SPEC, 30)
    assert "clamp_min((anomaly:cpu:seasonal_stddev or anomaly:cpu:stddev), 0.03333333333333333)" in expr
    assert ") > 3 or (" in expr
    assert "abs(anomaly:cpu:value - (anomaly:cpu:seasonal_avg or anomaly:cpu:avg)) > 0.1" in expr
    assert expr.endswith(f"and anomaly:cpu:samples >= {warmup_samples(SPEC, 30)}")
    assert warmup_samples(SPEC, 30) == 60


def test_the_alert_rule_loads_with_its_anomaly_extensions() -> None:
    _, alerts = compile_files((SPEC,), 30, "pack.yml")
    (group,) = parse_rules(alerts, "out.rules.yml")
    (rule,) = group.rules
    assert (rule.name, rule.anomaly, rule.anomaly_unit, rule.for_s) == ("CpuAnomaly", "anomaly:cpu", "ratio", 180.0)
    assert "heron_anomaly" not in rule.annotations
    assert rule.annotations["subject"] == "CPU"


def test_default_pack_files_are_generated_from_their_source() -> None:
    source = "prometheus/anomaly/heron-anomaly.yml"
    parsed = parse_specs((ROOT / source).read_text(), source)
    recording, alerts = compile_files(parsed.specs, parsed.interval_s, source)
    assert (ROOT / "prometheus/recording/heron-anomaly.recording.yml").read_text() == recording
    assert (ROOT / "prometheus/rules/heron-anomaly.rules.yml").read_text() == alerts
    assert {s.alert for s in parsed.specs} == {
        "AppRequestRateAnomaly", "AppErrorRateAnomaly", "AppLatencyAnomaly", "HostCpuAnomaly"
    }  # fmt: skip


def test_min_rel_adds_a_share_of_the_usual_value() -> None:
    spec = AnomalySpec(name="r", alert="A", expr="rate_x", subject="R", min_abs=0.5, min_rel=0.2)
    assert "and abs(anomaly:r:value - (anomaly:r:seasonal_avg or anomaly:r:avg)) > 0.2 * (anomaly:r:seasonal_avg" in (
        alert_expr(spec, 30)
    )
    assert "0.2 *" not in alert_expr(SPEC, 30)
