"""LogsQL (`type: vlogs`) rule groups: loading, checking, the VictoriaLogs adapter and evaluation."""

from pathlib import Path
from urllib.parse import parse_qs

import httpx
import pytest

from alert_worker.cli import main
from alert_worker.engine import Engine, evaluate_group
from alert_worker.exceptions import RuleFileError, SourceError
from alert_worker.notify.routing import parse_routing
from alert_worker.rules.evaluator import EvalSettings, Sample
from alert_worker.rules.loader import parse_rules
from alert_worker.rules.logtest import LogTestCase, run_case
from alert_worker.sources.victorialogs import VictoriaLogsSource
from alert_worker.state.memory import MemoryStore

from .fakes import FakeSource

LOG_PACK = Path(__file__).resolve().parents[3] / "prometheus" / "rules" / "logs"

RULES = """\
groups:
  - name: logs
    type: vlogs
    interval: 30s
    rules:
      - alert: ShopErrors
        expr: 'service.name:shop AND level:error | stats by (service.name) count() as errors | filter errors:>5'
        for: 1m
        labels: {severity: warning}
"""


def test_a_vlogs_group_loads_with_its_type_and_logsql_expression():
    [group] = parse_rules(RULES, "logs.yml")
    assert group.type == "vlogs"
    assert group.rules[0].expr.startswith("service.name:shop")
    assert group.rules[0].for_s == 60


def test_groups_default_to_prometheus():
    [group] = parse_rules("groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up == 0\n", "g.yml")
    assert group.type == "prometheus"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "groups:\n  - name: g\n    type: loki\n    rules: []\n",
            "g.yml:3: groups[0].type: unknown group type 'loki'; allowed: prometheus, vlogs",
        ),
        (
            "groups:\n  - name: g\n    type: vlogs\n    rules:\n      - alert: A\n        expr: 'service.name:shop'\n",
            "g.yml:6: groups[0].rules[0].expr: invalid LogsQL 'service.name:shop': a LogsQL alert expression needs",
        ),
        (
            "groups:\n  - name: g\n    type: vlogs\n    rules:\n      - record: r\n        expr: '* | stats count()'\n",
            "g.yml:5: groups[0].rules[0].record: recording rules are not supported in `type: vlogs` groups",
        ),
        (
            "groups:\n  - name: g\n    type: vlogs\n    rules:\n      - alert: A\n        expr: '* | stats count()'\n"
            "        annotations: {heron_no_data: alert}\n",
            "g.yml:7: groups[0].rules[0].annotations.heron_no_data: not used by `type: vlogs` groups",
        ),
        (
            # PromQL in a LogsQL group and LogsQL in a PromQL group are both caught.
            "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: 'level:error | stats count()'\n",
            "g.yml:5: groups[0].rules[0].expr: invalid PromQL",
        ),
    ],
)
def test_logsql_rule_problems_point_at_file_and_line(text, expected):
    with pytest.raises(RuleFileError) as err:
        parse_rules(text, "g.yml")
    assert any(p.startswith(expected) for p in err.value.problems), err.value.problems


def test_the_store_check_judges_each_logsql_expression_with_file_and_line():
    asked = []

    def check(expr):
        asked.append(expr)
        return "unexpected end of query" if "AND ( |" in expr else None

    broken = "service.name:shop AND ( | stats by (host.name) count() as n"
    text = RULES + f"      - alert: Broken\n        expr: '{broken}'\n"
    with pytest.raises(RuleFileError) as err:
        parse_rules(text, "logs.yml", logsql_check=check)
    assert err.value.problems == [
        f"logs.yml:11: groups[0].rules[1].expr: invalid LogsQL '{broken}': unexpected end of query"
    ]
    assert len(asked) == 2


def _store(handler):
    return VictoriaLogsSource("http://vl:9428", transport=httpx.MockTransport(handler))


def test_the_source_counts_over_the_group_interval_and_names_labels_the_prometheus_way():
    seen = {}

    def handler(request):
        seen.update({k: v[0] for k, v in parse_qs(request.content.decode()).items()})
        assert request.url.path == "/select/logsql/stats_query"
        row = {"metric": {"__name__": "errors", "service.name": "shop", "host.name": ""}, "value": [1, "7"]}
        return httpx.Response(200, json={"status": "success", "data": {"resultType": "vector", "result": [row]}})

    samples = _store(handler).query("level:error | stats by (service.name, host.name) count() as errors", 1000.0, 30)
    assert samples == [Sample({"service_name": "shop"}, 7.0)]
    assert seen["time"] == "1000.000"
    assert seen["start"] == "970.000"


def test_an_expression_with_its_own_time_filter_keeps_its_window():
    seen = {}

    def handler(request):
        seen.update({k: v[0] for k, v in parse_qs(request.content.decode()).items()})
        return httpx.Response(200, json={"status": "success", "data": {"resultType": "vector", "result": []}})

    assert _store(handler).query("_time:5m level:error | stats count() as n", 1000.0, 30) == []
    assert "start" not in seen
    assert seen["time"] == "1000.000"


@pytest.mark.parametrize(
    ("status", "transient"),
    [(422, False), (400, False), (503, True)],
)
def test_store_errors_are_transient_only_when_retrying_can_help(status, transient):
    body = {"status": "error", "error": "cannot parse `query` arg"}
    source = _store(lambda request: httpx.Response(status, json=body))
    with pytest.raises(SourceError) as err:
        source.query("* | stats count()", 1000.0, 30)
    assert err.value.transient is transient
    assert "cannot parse `query` arg" in str(err.value)


def test_an_unreachable_store_is_transient():
    def handler(request):
        raise httpx.ConnectError("refused")

    with pytest.raises(SourceError) as err:
        _store(handler).query("* | stats count()", 1000.0, 30)
    assert err.value.transient


def test_check_returns_the_store_parser_message():
    body = {"status": "error", "errorType": "422", "error": "cannot parse `query` arg [x(]: unexpected end"}
    assert _store(lambda request: httpx.Response(422, json=body)).check("x( | stats count()") == (
        "cannot parse `query` arg [x(]: unexpected end"
    )


class FakeLogs:
    def __init__(self):
        self.rows: list[Sample] = []
        self.error: SourceError | None = None
        self.asked: list[tuple[str, float, float]] = []

    def query(self, expr, at, window_s):
        self.asked.append((expr, at, window_s))
        if self.error:
            raise self.error
        return self.rows


ROUTING = parse_routing(
    "route:\n  receivers: [console]\n  group_by: [alertname, service_name]\n  group_wait: 0s\n"
    "  group_interval: 0s\n  cooldown: 0s\n  repeat_interval: 1h\n",
    "routing.yaml",
)


def _engine(logs):
    sent = []
    engine = Engine(source=FakeSource(), store=MemoryStore(), routing=ROUTING, enqueue=sent.append, logs=logs)
    return engine, sent


def _statuses(sent, name):
    return [j.status for j in sent if any(a.labels.get("alertname") == name for a in j.alerts)]


def test_a_log_rule_fires_after_for_and_resolves_when_the_lines_stop():
    [group] = parse_rules(RULES, "logs.yml")
    logs = FakeLogs()
    engine, sent = _engine(logs)
    logs.rows = [Sample({"service_name": "shop"}, 9)]
    for step in range(3):
        evaluate_group(engine, group, 60_000.0 + 30 * step)
    assert _statuses(sent, "ShopErrors") == ["firing"]
    assert logs.asked[0][2] == 30, "the window is the group's interval"
    logs.rows = []
    evaluate_group(engine, group, 60_090.0)
    assert _statuses(sent, "ShopErrors") == ["firing", "resolved"]


@pytest.mark.parametrize(
    ("error", "meta_alert"),
    [
        (SourceError("cannot reach the log store", transient=True), "HeronLogStoreUnreachable"),
        (SourceError("the log store refused the query (422)", transient=False), "HeronRuleEvaluationFailed"),
    ],
)
def test_a_failing_log_query_holds_the_alert_and_says_why(error, meta_alert):
    [group] = parse_rules(RULES, "logs.yml")
    logs = FakeLogs()
    engine, sent = _engine(logs)
    logs.rows = [Sample({"service_name": "shop"}, 9)]
    for step in range(3):
        evaluate_group(engine, group, 60_000.0 + 30 * step)
    logs.error = error
    for step in range(3, 6):
        evaluate_group(engine, group, 60_000.0 + 30 * step)
    assert _statuses(sent, "ShopErrors") == ["firing"], "a failed query must never resolve"
    assert _statuses(sent, meta_alert) == ["firing"]
    snap = engine.store.load_group("logs")
    assert [s.last_error for k, s in snap.rules.items() if not k.startswith("meta:")] == [str(error)]


def test_without_a_log_store_a_log_rule_fails_with_the_setting_to_fix():
    [group] = parse_rules(RULES, "logs.yml")
    engine, sent = _engine(None)
    evaluate_group(engine, group, 60_000.0)
    [failed] = [j for j in sent if j.alerts[0].labels["alertname"] == "HeronRuleEvaluationFailed"]
    assert "HERON_ALERTS_VICTORIALOGS_URL" in failed.alerts[0].annotations["description"]


def test_an_ungrouped_stats_without_a_threshold_is_refused_because_it_would_always_fire():
    text = "groups:\n  - name: g\n    type: vlogs\n    rules:\n      - alert: A\n"
    text += "        expr: 'level:error | stats count() as n'\n"
    with pytest.raises(RuleFileError) as err:
        parse_rules(text, "g.yml")
    assert "always returns one row" in err.value.problems[0]
    assert "| filter errors:>0" in err.value.problems[0]
    parse_rules(text.replace("as n'", "as n | filter n:>0'"), "g.yml")


def test_rules_check_offline_checks_the_shipped_log_rules_shape(capsys):
    files = [str(p) for p in sorted(LOG_PACK.glob("*.rules.yml"))]
    assert main(["rules", "check", "--offline", *files]) == 0
    assert "SUCCESS: 1 group(s), 2 alerting rule(s)" in capsys.readouterr().out


def test_rules_check_says_how_to_go_on_when_the_log_store_is_down(capsys):
    files = [str(p) for p in sorted(LOG_PACK.glob("*.rules.yml"))]
    assert main(["rules", "check", "--logs-url", "http://127.0.0.1:9", *files]) == 2
    err = capsys.readouterr().err
    assert "cannot check the LogsQL rules" in err
    assert "--offline" in err


def _test_file(tmp_path, body):
    path = tmp_path / "t.test.yml"
    path.write_text(body)
    return path


def test_a_log_test_file_with_an_eval_time_off_the_grid_is_refused_by_name(tmp_path, capsys):
    path = _test_file(
        tmp_path,
        "rule_files: [r.yml]\nevaluation_interval: 1m\ntests:\n  - input_logs: [{at: 0s}]\n"
        "    alert_rule_test:\n      - {eval_time: 90s, alertname: A}\n",
    )
    assert main(["rules", "test", "--logs-url", "http://127.0.0.1:9", str(path)]) == 2
    err = capsys.readouterr().err
    assert "tests.0.alert_rule_test.0.eval_time 1m30s is not a multiple of evaluation_interval 1m" in err


def test_a_log_test_file_with_an_unknown_field_is_refused_by_name(tmp_path, capsys):
    path = _test_file(
        tmp_path,
        "rule_files: [r.yml]\ntests:\n  - input_logs: [{at: 0s, lines: 3}]\n"
        "    alert_rule_test:\n      - {eval_time: 1m, alertname: A}\n",
    )
    assert main(["rules", "test", str(path)]) == 2
    assert "tests.0.input_logs.0.lines: Extra inputs are not permitted" in capsys.readouterr().err


def test_the_log_test_runner_steps_the_state_machine_like_promtool(tmp_path):
    [group] = parse_rules(RULES, "logs.yml")
    case = LogTestCase.model_validate(
        {
            "input_logs": [{"at": "0s"}],
            "alert_rule_test": [
                {"eval_time": "0s", "alertname": "ShopErrors"},
                {"eval_time": "2m", "alertname": "ShopErrors", "exp_alerts": [{"exp_labels": {"severity": "warning"}}]},
            ],
        }
    )
    asked = []

    def query(expr, at, window):
        asked.append(at)
        return [Sample({}, 9)] if at >= 1000 else []

    assert run_case(case, [group], query, 1000.0, 60.0, EvalSettings()) == []
    assert asked == [1000.0, 1060.0, 1120.0]
    failures = run_case(case, [group], lambda e, at, w: [], 1000.0, 60.0, EvalSettings())
    assert len(failures) == 1
    assert "alertname: ShopErrors, time: 2m" in failures[0]
