"""`alert-worker` subcommands that need no services, called in-process."""

from pathlib import Path

import pytest

from alert_worker.cli import main
from alert_worker.config import resolve_config
from alert_worker.exceptions import ConfigError
from alert_worker.rules.backtest import align, backtest
from alert_worker.rules.model import AlertRule

PACK = Path(__file__).resolve().parents[3] / "prometheus" / "rules"


def test_rules_check_accepts_the_default_pack(capsys):
    files = [str(p) for p in sorted(PACK.glob("*.rules.yml"))]
    assert main(["rules", "check", *files]) == 0
    assert "SUCCESS: 6 group(s), 24 alerting rule(s)" in capsys.readouterr().out


def test_rules_check_reports_file_and_line(tmp_path, capsys):
    bad = tmp_path / "bad.yml"
    bad.write_text("groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up == 0\n        for: later\n")
    assert main(["rules", "check", str(bad)]) == 1
    err = capsys.readouterr().err
    assert f"{bad}:6: groups[0].rules[0].for: invalid duration 'later'" in err


def test_rules_compile_prints_a_rule(capsys):
    assert main(["rules", "compile", "IF CPU > 90% FOR 5 minutes", "--name", "HostHighCpu"]) == 0
    out = capsys.readouterr().out
    assert "alert: HostHighCpu" in out
    assert "for: 5m" in out
    assert "> 0.9" in out


def test_rules_compile_rejects_nonsense_with_exit_2(capsys):
    assert main(["rules", "compile", "CPU is high"]) == 2
    assert "not a shorthand condition" in capsys.readouterr().err


def test_rules_test_runs_promtool_unit_tests(tmp_path):
    rules = tmp_path / "r.yml"
    rules.write_text(
        "groups:\n  - name: g\n    interval: 1m\n    rules:\n"
        "      - alert: Down\n        expr: up == 0\n        for: 2m\n"
    )
    tests = tmp_path / "t.yml"
    tests.write_text(
        f"rule_files: [{rules}]\nevaluation_interval: 1m\ntests:\n  - interval: 1m\n"
        "    input_series:\n      - series: 'up{job=\"a\"}'\n        values: '0 0 0 0'\n"
        "    alert_rule_test:\n      - eval_time: 1m\n        alertname: Down\n        exp_alerts: []\n"
        "      - eval_time: 3m\n        alertname: Down\n        exp_alerts:\n          - exp_labels: {job: a}\n"
    )
    assert main(["rules", "test", str(tests)]) == 0
    tests.write_text(tests.read_text().replace("eval_time: 1m", "eval_time: 2m"))
    assert main(["rules", "test", str(tests)]) == 1


def test_backtest_finds_when_a_rule_would_have_fired_and_resolved():
    rule = AlertRule("HighCpu", "cpu > 0.9", "g", for_s=120)
    # series above the threshold from t=60 to t=300 (range query returns only matching points)
    matrix = [({"host_name": "a"}, [(float(t), 0.95) for t in range(60, 301, 60)])]
    (episode,) = backtest(rule, matrix, 0.0, 600.0, 60.0)
    assert (episode.fired_at, episode.resolved_at) == (180.0, 360.0)


def test_backtest_matches_the_times_prometheus_answers_with_for_a_start_off_the_grid():
    """Prometheus answers a range query at start + k*step rounded to ms; a float start used to match none."""
    rule = AlertRule("HighCpu", "cpu > 0.9", "g", for_s=120)
    start = 1796353960.6571234
    above = [round(start + k * 60, 3) for k in range(1, 6)]
    matrix = [({"host_name": "a"}, [(t, 0.95) for t in above])]
    (episode,) = backtest(rule, matrix, start, start + 600, 60.0)
    assert episode.fired_at == pytest.approx(start + 180)
    assert episode.resolved_at == pytest.approx(start + 360)
    assert align(start, start + 600, 60.0) == (1796353980.0, 1796354520.0)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"HERON_ALERTS_FLAP_WINDOW": "soon"}, "HERON_ALERTS_FLAP_WINDOW"),
        ({"HERON_ALERTS_PROMETHEUS_URL": "localhost:9090"}, "HERON_ALERTS_PROMETHEUS_URL"),
        ({"HERON_ALERTS_EXTERNAL_LABELS": "env"}, "HERON_ALERTS_EXTERNAL_LABELS"),
        ({"HERON_ALERTS_API_PORT": "-1"}, "HERON_ALERTS_API_PORT"),
        ({"HERON_ALERTS_VISIBILITY_TIMEOUT": "5s"}, "HERON_ALERTS_VISIBILITY_TIMEOUT.*'5s'.*at least 10s"),
        ({"HERON_ALERTS_VISIBILITY_TIMEOUT": "later"}, "HERON_ALERTS_VISIBILITY_TIMEOUT.*30s, 5m"),
        ({"HERON_ALERTS_QUERY_CONCURRENCY": "0"}, "HERON_ALERTS_QUERY_CONCURRENCY.*'0'.*from 1 to 64"),
        ({"HERON_ALERTS_QUERY_CONCURRENCY": "many"}, "HERON_ALERTS_QUERY_CONCURRENCY.*'many'"),
    ],
)
def test_bad_config_names_the_variable(env, message):
    with pytest.raises(ConfigError, match=message):
        resolve_config(env=env)


def test_visibility_timeout_reaches_the_broker():
    from alert_worker.celery_app import create_celery

    cfg = resolve_config(env={"HERON_ALERTS_VISIBILITY_TIMEOUT": "10m"})
    options = create_celery(cfg).conf.broker_transport_options
    assert (options["visibility_timeout"], options["unacked_restore_throttle"]) == (600.0, 1)


def test_retry_countdowns_stay_under_half_the_visibility_timeout():
    # A worker holds a countdown task unacknowledged; one held past the timeout would run twice.
    from alert_worker.celery_app import app
    from alert_worker.delivery.tasks import countdown

    half = app.conf.heron_config.visibility_timeout_s / 2
    assert countdown(10.0) == 10.0
    assert countdown(half * 3) == half


def test_config_precedence(tmp_path):
    file = tmp_path / "alerts.yaml"
    file.write_text("prometheus_url: http://file:9090\nnotify_queue: from-file\n")
    env = {"HERON_ALERTS_CONFIG": str(file), "HERON_ALERTS_PROMETHEUS_URL": "http://env:9090"}
    cfg = resolve_config({"notify_queue": "from-arg"}, env=env)
    assert (cfg.prometheus_url, cfg.notify_queue) == ("http://env:9090", "from-arg")
    assert resolve_config(env={"HERON_ALERTS_CONFIG": str(file)}).notify_queue == "from-file"


def test_default_rule_pack_passes_its_promtool_unit_tests():
    assert main(["rules", "test", str(PACK / "tests" / "heron-default-pack.test.yml")]) == 0


def test_notify_preview_renders_a_sample_alert_for_the_console(capsys):
    assert main(["notify", "preview", "--channel", "console", "--status", "resolved"]) == 0
    out = capsys.readouterr().out
    assert "[RESOLVED" in out
    assert "HeronTestNotification" in out


def test_notify_test_sends_to_the_console_and_reports_it(capsys):
    assert main(["notify", "test", "--channel", "console"]) == 0
    out = capsys.readouterr().out
    assert "HeronTestNotification" in out
    assert "sent test notification to console" in out


def test_notify_test_to_an_unknown_destination_names_the_configured_ones(capsys):
    assert main(["notify", "test", "--channel", "ops-pager"]) == 1
    err = capsys.readouterr().err
    assert "'ops-pager' is not configured" in err
    assert "console" in err


ANOMALY_SPEC = """\
anomalies:
  - name: cpu
    alert: CpuAnomaly
    expr: host_cpu
    subject: CPU
"""


def test_anomaly_compile_makes_missing_output_folders(tmp_path, capsys):
    spec, rec, rules = tmp_path / "a.yml", tmp_path / "new" / "rec" / "a.yml", tmp_path / "new" / "rules" / "a.yml"
    spec.write_text(ANOMALY_SPEC)
    assert main(["anomaly", "compile", str(spec), "--recording", str(rec), "--rules", str(rules)]) == 0
    assert "record: anomaly:cpu:value" in rec.read_text()
    assert f"wrote {rules}" in capsys.readouterr().out


@pytest.mark.parametrize("command", ["anomaly", "slo"])
def test_an_unwritable_output_path_is_named_without_a_traceback(tmp_path, capsys, command):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    if command == "anomaly":
        spec = tmp_path / "a.yml"
        spec.write_text(ANOMALY_SPEC)
        argv = ["anomaly", "compile", str(spec), "--recording", str(blocker / "x.yml"), "--rules", str(blocker / "y")]
        prog = "anomaly compile"
    else:
        spec = tmp_path / "shop.slo.yml"
        spec.write_text((Path(__file__).resolve().parents[3] / "prometheus" / "slo" / "loadgen.slo.yml").read_text())
        argv = ["slo", "generate", str(spec), "--recording-dir", str(blocker / "rec"), "--rules-dir", str(blocker)]
        prog = "slo generate"
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert f"{prog}: cannot write {blocker}/" in err
    assert "choose a writable path" in err


def test_backtest_refuses_a_recorded_series_it_cannot_inline_naming_it(tmp_path, capsys):
    rules, recording = tmp_path / "a.rules.yml", tmp_path / "r.yml"
    rules.write_text(
        "groups:\n  - name: g\n    rules:\n      - alert: Burn\n        expr: 'job:ratio{team=\"x\"} > 1'\n"
    )
    recording.write_text(
        "groups:\n  - name: r\n    rules:\n      - record: job:ratio\n        expr: sum(rate(e[5m]))\n"
        "        labels: {slo: a}\n"
    )
    # Unreachable Prometheus: the refusal comes before any query.
    args = ["rules", "backtest", "Burn", "--rules", str(rules), "--recording", str(recording)]
    assert main([*args, "--prometheus-url", "http://127.0.0.1:9"]) == 2
    err = capsys.readouterr().err
    assert f"rules backtest: Burn ({rules}:4): job:ratio{{team=\"x\"}}: label 'team' is not a static label" in err
    assert "nothing was queried" in err
