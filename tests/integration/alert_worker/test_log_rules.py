"""The shipped LogsQL rules fire, notify and resolve end to end, and a log store outage never resolves them.

Logs go the way an app's logs go: Python `logging` through the OpenTelemetry handler, OTLP to the real
collector, into the real VictoriaLogs. The real evaluation and delivery pools and beat run the shipped
`prometheus/rules/logs/heron-logs.rules.yml`, only with a 2 s interval and no `for`, and notify a
webhook stand-in. The log lines carry timestamps 4 m 40 s old, so they leave the rules' 5-minute
window about 20 s later and the alerts resolve without waiting five minutes.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.instrumentation.logging.handler import LoggingHandler
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
from opentelemetry.sdk.resources import Resource

from alert_worker.cli import main
from alert_worker.state.redis_store import RedisStore
from heron_stack.components import registry
from tests.fixtures.alerting import start_alert_worker, stop_process_group
from tests.fixtures.stack import StackHandle, clean_env, free_port
from tests.fixtures.standins import WebhookStandIn
from tests.helpers import logs_query, wait_for
from tests.integration.alert_worker.delivery.conftest import write_destinations

pytestmark = pytest.mark.integration

SHIPPED = Path(__file__).resolve().parents[3] / "prometheus" / "rules" / "logs" / "heron-logs.rules.yml"
AGE_S = 280  # the lines' age when sent: inside the 5-minute window for another ~20 s


def _fast_copy(path: Path, dest: Path) -> dict[str, str]:
    """The shipped rule file with a 2 s interval and no `for`; returns alert name -> expression as shipped."""
    doc = yaml.safe_load(path.read_text())
    exprs = {}
    for group in doc["groups"]:
        assert group["type"] == "vlogs"
        group["interval"] = "2s"
        for rule in group["rules"]:
            rule.pop("for", None)
            exprs[rule["alert"]] = rule["expr"]
    dest.write_text(yaml.safe_dump(doc))
    return exprs


class _Backdate(logging.Filter):
    """Makes every record `AGE_S` seconds old, as if the app had logged it then."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.created -= AGE_S
        return True


def _log_like_an_app(stack: StackHandle, service: str) -> None:
    """25 errors and one logged exception, through stdlib logging and the OpenTelemetry handler."""
    provider = LoggerProvider(resource=Resource.create({"service.name": service, "host.name": "logrules-host"}))
    provider.add_log_record_processor(BatchLogRecordProcessor(OTLPLogExporter(f"{stack.otlp_http_endpoint}/v1/logs")))
    handler = LoggingHandler(logger_provider=provider)
    handler.addFilter(_Backdate())
    logger = logging.getLogger(f"heron.tests.{service}")
    logger.propagate = False
    logger.addHandler(handler)
    try:
        for i in range(25):
            logger.error("payment %d declined by the bank", i)
        try:
            {}["cart"]
        except KeyError:
            logger.exception("checkout crashed")
        provider.force_flush()
    finally:
        logger.removeHandler(handler)
        provider.shutdown()


def _alert_env(tmp_path: Path, uid: str, rules: Path, hook_url: str, logs_url: str, redis_url: str) -> dict[str, str]:
    routing = tmp_path / "routing.yaml"
    routing.write_text(
        'route:\n  receivers: ["hook"]\n  group_by: [alertname, service_name]\n  group_wait: 0s\n'
        "  group_interval: 0s\n  cooldown: 0s\n  repeat_interval: 4h\n  send_resolved: true\n"
    )
    destinations = write_destinations(tmp_path / "destinations.yaml", {"hook": {"type": "webhook", "url": hook_url}})
    return clean_env(
        {
            "HERON_ALERTS_VICTORIALOGS_URL": logs_url,
            "HERON_ALERTS_REDIS_URL": redis_url,
            "HERON_ALERTS_RULE_FILES": str(rules),
            "HERON_ALERTS_ROUTING_FILE": str(routing),
            "HERON_ALERTS_DESTINATIONS_FILE": str(destinations),
            "HERON_ALERTS_EVAL_QUEUE": f"alerts-{uid}",
            "HERON_ALERTS_NOTIFY_QUEUE": f"notify-{uid}",
            "OTEL_SDK_DISABLED": "true",
        }
    )


def _pools(env: dict[str, str], tmp_path: Path) -> list[subprocess.Popen[bytes]]:
    """As `heron up` runs them: an evaluation pool, a delivery pool, one beat."""
    return [
        start_alert_worker(["worker", "--role", "evaluate", "--concurrency", "2"], env, tmp_path / "evaluate.log"),
        start_alert_worker(["worker", "--role", "deliver", "--concurrency", "2"], env, tmp_path / "deliver.log"),
        start_alert_worker(["beat"], env, tmp_path / "beat.log"),
    ]


def _all_notices(hook: WebhookStandIn) -> list[tuple[str, str, dict[str, Any]]]:
    """(alertname, status, alert) of every alert in every notice, in arrival order."""
    return [
        (alert["labels"]["alertname"], alert["status"], alert)
        for accepted in list(hook.accepted)
        for alert in accepted.payload.get("alerts", [])
    ]


def _notices(hook: WebhookStandIn, service: str) -> list[tuple[str, str, dict[str, Any]]]:
    """(alertname, status, alert) of every notice about `service`, in arrival order."""
    return [n for n in _all_notices(hook) if n[2]["labels"].get("service_name") == service]


@pytest.fixture
def redis_db(stack: StackHandle) -> Iterator[str]:
    import redis

    url = stack.redis_url.rsplit("/", 1)[0] + "/12"
    client = redis.Redis.from_url(url)
    client.flushdb()
    yield url
    client.flushdb()
    client.close()


def test_shipped_log_rules_fire_notify_and_resolve(stack: StackHandle, tmp_path: Path, redis_db: str) -> None:
    uid = uuid.uuid4().hex[:8]
    service = f"shop-{uid}"
    rules = tmp_path / "logs.rules.yml"
    exprs = _fast_copy(SHIPPED, rules)
    assert set(exprs) == {"LogErrorBurst", "LogTraceback"}
    with WebhookStandIn() as hook:
        env = _alert_env(tmp_path, uid, rules, f"{hook.url}/hook", stack.victorialogs_url, redis_db)
        procs = _pools(env, tmp_path)
        try:
            _log_like_an_app(stack, service)

            # The lines are in the store with what the rules select on.
            def stored() -> list[dict[str, str]] | None:
                rows = logs_query(stack.victorialogs_url, f'service.name:"{service}"', since_s=600)
                return rows if len(rows) == 26 else None

            lines = wait_for(stored, timeout=30, what="the 26 lines in VictoriaLogs")
            assert {r["severity_number"] for r in lines if r["_msg"].startswith("payment")} == {"17"}
            assert "Traceback (most recent call last)" in next(
                r["exception.stacktrace"] for r in lines if r["_msg"] == "checkout crashed"
            )
            both_firing = {("LogErrorBurst", "firing"), ("LogTraceback", "firing")}
            wait_for(
                lambda: both_firing <= {(a, s) for a, s, _ in _notices(hook, service)},
                timeout=60,
                what="firing notices of both log rules",
            )
            burst = next(alert for a, s, alert in _notices(hook, service) if a == "LogErrorBurst" and s == "firing")
            assert burst["labels"]["severity"] == "warning"
            assert burst["annotations"]["summary"] == f"{service} logged 26 errors in 5 minutes", burst
            assert "/select/vmui/" in burst["generatorURL"]
            # Once the lines are older than five minutes both alerts resolve, and the last notice says so.
            wait_for(
                lambda: (
                    {a: s for a, s, _ in _notices(hook, service)}
                    == {"LogErrorBurst": "resolved", "LogTraceback": "resolved"}
                ),
                timeout=90,
                what="both alerts resolved",
            )
        finally:
            for proc in procs:
                stop_process_group(proc)
    kinds = [(a, s) for a, s, _ in _notices(hook, service)]
    expected = [(a, s) for a in ("LogErrorBurst", "LogTraceback") for s in ("firing", "resolved")]
    assert sorted(kinds) == expected, kinds


def test_a_log_store_outage_holds_a_firing_log_alert_and_marks_the_rule_failed(
    stack: StackHandle, tmp_path: Path, redis_db: str
) -> None:
    """A private VictoriaLogs is stopped while a LogsQL alert fires: no resolved notice, the rule shows the error."""
    uid = uuid.uuid4().hex[:8]
    binary = registry(stack.config)["victorialogs"].locate().path
    port = free_port()
    logs_url = f"http://127.0.0.1:{port}"
    argv = [str(binary), f"-storageDataPath={tmp_path / 'vl'}", f"-httpListenAddr=127.0.0.1:{port}"]
    store = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    wait_for(lambda: httpx.get(f"{logs_url}/health", timeout=2).status_code == 200, timeout=30, what="VictoriaLogs")
    rules = tmp_path / "outage.rules.yml"
    rules.write_text(
        "groups:\n  - name: outage\n    type: vlogs\n    interval: 2s\n    rules:\n"
        "      - alert: CheckoutErrors\n"
        "        expr: '_time:1h service.name:checkout | stats by (service.name) count() as errors'\n"
    )
    lines = "".join(
        f'{{"_msg": "declined {i}", "service.name": "checkout", "_time": "{time.time() - 60:.3f}"}}\n' for i in range(3)
    )
    resp = httpx.post(
        f"{logs_url}/insert/jsonline?_stream_fields=service.name",
        content=lines,
        headers={"Content-Type": "application/stream+json"},
    )
    assert resp.status_code == 200
    store_state = RedisStore.from_url(redis_db)
    with WebhookStandIn() as hook:
        procs = _pools(_alert_env(tmp_path, uid, rules, f"{hook.url}/hook", logs_url, redis_db), tmp_path)
        try:
            wait_for(
                lambda: [s for _, s, _ in _notices(hook, "checkout")] == ["firing"],
                timeout=60,
                what="the firing notice",
            )
            store.send_signal(signal.SIGKILL)
            store.wait()
            # The next evaluations fail: the rule records the store's error, its alert stays firing, and
            # Heron's own alert says the log store is unreachable.
            unreachable = wait_for(
                lambda: [a for a, s, _ in _all_notices(hook) if a == "HeronLogStoreUnreachable" and s == "firing"],
                timeout=60,
                what="the log store outage notice",
            )
            assert unreachable
            snap = store_state.load_group("outage")
            errors = [state.last_error for state in snap.rules.values() if state.last_error]
            assert any("cannot reach the log store" in e for e in errors), errors
            assert [
                a.state
                for s in snap.rules.values()
                for a in s.alerts.values()
                if a.labels.get("alertname") == "CheckoutErrors"
            ] == ["firing"]
            slot = snap.last_slot or 0.0
            wait_for(
                lambda: (store_state.load_group("outage").last_slot or 0.0) >= slot + 6,
                timeout=60,
                what="three more evaluations with the store down",
            )
            assert [s for _, s, _ in _notices(hook, "checkout")] == ["firing"], "an outage must not resolve the alert"
        finally:
            for proc in procs:
                stop_process_group(proc)
            if store.poll() is None:
                store.kill()
                store.wait()


LOG_TESTS = SHIPPED.parent.parent / "tests" / "heron-logs.test.yml"


def test_the_shipped_log_rule_unit_tests_pass_on_the_real_store_and_a_wrong_expectation_fails(
    stack: StackHandle, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["rules", "test", "--logs-url", stack.victorialogs_url, str(LOG_TESTS)]) == 0
    assert "SUCCESS" in capsys.readouterr().out
    wrong = tmp_path / "wrong.test.yml"
    text = LOG_TESTS.read_text().replace("../logs/heron-logs.rules.yml", str(SHIPPED))
    wrong.write_text(text.replace("eval_time: 4m", "eval_time: 3m"))  # still pending at 3m
    assert main(["rules", "test", "--logs-url", stack.victorialogs_url, str(wrong)]) == 1
    out = capsys.readouterr().out
    assert "FAILED: a burst of errors fires after two minutes" in out
    assert "alertname: LogErrorBurst, time: 3m" in out


def test_rules_check_rejects_what_the_real_store_cannot_parse_with_file_and_line(
    stack: StackHandle, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.rules.yml"
    bad.write_text(
        "groups:\n  - name: bad\n    type: vlogs\n    rules:\n"
        "      - alert: Fine\n        expr: 'service.name:shop | stats by (service.name) count() as n'\n"
        "      - alert: Unclosed\n        expr: 'service.name:shop AND ( | stats by (service.name) count() as n'\n"
        "      - alert: NoSuchPipe\n"
        "        expr: 'service.name:shop | stats by (service.name) count() as n | frobnicate'\n"
    )
    assert main(["rules", "check", "--logs-url", stack.victorialogs_url, str(bad)]) == 1
    err = capsys.readouterr().err
    assert f"{bad}:8: groups[0].rules[1].expr: invalid LogsQL" in err
    assert f"{bad}:10: groups[0].rules[2].expr: invalid LogsQL" in err
    assert ":6:" not in err
    assert "FAILED: 2 problem(s)" in err
