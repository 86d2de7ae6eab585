"""The cluster topology under faults, and the same answers as single-node Prometheus.

Kill -9 a collector, a receiver and a log storage node while data flows: every metric point sent must be
readable through Thanos Query afterwards, counted per series; every log line must be readable, except
lines acknowledged within the documented loss window (VICTORIALOGS_LOSS_WINDOW_SECONDS) before the log
storage node died, each checked by its acknowledgement time. A rule keeps firing, notified once.
"""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from alert_worker.engine import Engine, evaluate_group
from alert_worker.notify.routing import parse_routing
from alert_worker.redis_client import connect
from alert_worker.rules.loader import parse_rules
from alert_worker.sources.prometheus import PrometheusSource
from alert_worker.state.redis_store import RedisStore
from heron_stack import endpoints
from heron_stack.dashboards import render_all
from heron_stack.dashboards.checks import queries, substitute
from heron_stack.doctor import canary_checks, collector
from heron_stack.doctor.core import default_probes
from heron_stack.doctor.models import Status
from heron_stack.doctor.pipeline_checks import check_pipeline
from heron_stack.sentinel import cluster_layout
from heron_stack.stack_table import COLLECTORS, VICTORIALOGS_LOSS_WINDOW_SECONDS
from tests.fixtures.cluster import CountedSender, kill_9, logs_line_ids, restarted, send_span, start_cluster
from tests.fixtures.stack import StackHandle, clean_env, start_stack
from tests.helpers import DeadlineExceeded, prom_query, wait_for

pytestmark = pytest.mark.integration

LOSS_WINDOW = VICTORIALOGS_LOSS_WINDOW_SECONDS


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackHandle]:
    handle = start_cluster(Path(tmp_path_factory.mktemp("cluster")))
    try:
        yield handle
    finally:
        handle.stack.down()


ROUTING = parse_routing("route:\n  group_wait: 0s\n  group_interval: 0s\n  cooldown: 0s\n", "routing.yaml")


class RuleThroughFaults:
    """The alert engine evaluating one rule against Thanos Query every second, in a thread, with its
    state in the cluster's Redis, reached through its sentinels as the alert services reach it; every
    notification it enqueues is kept."""

    def __init__(self, cluster: StackHandle, run_id: str) -> None:
        rules = f"""
groups:
  - name: drill-{run_id}
    interval: 1s
    rules:
      - alert: DrillSeriesHigh
        expr: heron_drill_value{{drill_run="{run_id}", drill_series="3"}} > 2
"""
        self.rules = rules
        (self.group,) = parse_rules(rules, "drill.yml")
        self.redis_url = cluster_layout(cluster.stack.config).url(11)
        self.source = PrometheusSource(cluster.prometheus_url)
        self.sent: list[Any] = []
        self.engine = Engine(
            source=self.source, store=RedisStore.from_url(self.redis_url), routing=ROUTING, enqueue=self.sent.append
        )
        self.failed_evaluations = 0
        self.evaluations = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(1.0):
            try:
                if evaluate_group(self.engine, self.group, time.time()).status == "evaluated":
                    self.evaluations += 1
            except Exception:  # a failed evaluation is counted; what matters is what was sent
                self.failed_evaluations += 1

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
        self.source.close()
        client = connect(self.redis_url)
        client.flushdb()
        client.close()


def _per_collector(cluster: StackHandle, expr: str) -> dict[str, float]:
    return {r["metric"].get("instance", "?"): float(r["value"][1]) for r in prom_query(cluster.prometheus_url, expr)}


def test_each_collector_pushes_its_own_metrics_which_the_pipeline_panels_and_doctor_read_through_thanos(
    cluster: StackHandle,
) -> None:
    sender = CountedSender(cluster.otlp_http_endpoint, f"self-{uuid.uuid4().hex[:8]}")
    sender.start()
    for _ in COLLECTORS:  # a span through each collector (HAProxy alternates), for the span panels
        send_span(cluster.otlp_http_endpoint, "heron-self-metrics-check")
    try:
        # Both collectors took points (HAProxy alternates) and said so through Thanos Query, one series each.
        accepted = 'sum by (instance) (otelcol_receiver_accepted_metric_points_total{job="otel-collector"})'
        took = wait_for(
            lambda: (a := _per_collector(cluster, accepted)).keys() == set(COLLECTORS) and min(a.values()) > 0 and a,
            timeout=90,
            what="otelcol_receiver_accepted_metric_points_total of both collectors through Thanos Query",
        )
    finally:
        sender.stop()
    assert _per_collector(cluster, 'otelcol_process_memory_rss_bytes{job="otel-collector"}').keys() == set(COLLECTORS)
    print(f"accepted per collector: {took}")
    panels = {
        f"{query.dashboard_uid}/{query.panel_title}: {query.expr}": substitute(query.expr, {})
        for dash in render_all().values()
        for query in queries(dash)
        if query.datasource_type == "prometheus"
        and query.expr
        and "otelcol_" in query.expr
        # The cluster's collectors have no exporter queue (CLUSTER_COLLECTOR_OVERLAY): no queue series.
        and "otelcol_exporter_queue_" not in query.expr
    }
    assert len(panels) >= 10, f"only {len(panels)} collector queries in the shipped dashboards"
    try:
        wait_for(
            lambda: not [p for p, expr in panels.items() if not prom_query(cluster.prometheus_url, expr)],
            timeout=60,
            what="data for every collector panel",
        )
    except DeadlineExceeded:
        empty = [p for p, expr in panels.items() if not prom_query(cluster.prometheus_url, expr)]
        pytest.fail(f"{len(empty)} of {len(panels)} collector panel queries have no data: {empty}")
    probes = default_probes(cluster.stack.config, timeout=60)
    try:
        checks = [c for c in check_pipeline(cluster.stack.config, probes, 10.0) if c.component == "collector"]
    finally:
        probes.http.close()
    assert [c.status for c in checks] == [Status.OK], [c.what for c in checks]
    counted = re.search(r"accepted (\d+) metric points", checks[0].what)
    assert counted, checks[0].what
    assert int(counted.group(1)) > 0, checks[0].what
    _doctor_canary_reads_both_collectors_and_their_write_endpoint(cluster)


def _doctor_canary_reads_both_collectors_and_their_write_endpoint(cluster: StackHandle) -> None:
    """The doctor's canary passes through HAProxy, the collectors, the receivers and Thanos Query; the
    counters it reads to name a lost canary's hop come from each collector's own telemetry port, and the
    write endpoint it probes is where the collectors remote-write (the receivers' load balancer)."""
    config = cluster.stack.config
    probes = default_probes(config, timeout=60)
    try:
        canary = canary_checks.run_canary(config, probes, 30.0, {"metrics": True, "logs": True})
        readings = collector.read_each(probes, endpoints.collector_telemetry_urls(config))
        write_url = endpoints.remote_write_url(config)
        status = probes.http.post(write_url, content=b"", timeout=10).status_code
    finally:
        probes.http.close()
    assert [c.status for c in canary] == [Status.OK, Status.OK], [(c.what, c.fix) for c in canary]
    assert readings.keys() == set(COLLECTORS)
    accepted = {
        name: (r or {}).get("otelcol_receiver_accepted_metric_points_total", 0.0) for name, r in readings.items()
    }
    assert min(accepted.values()) > 0, f"accepted metric points per collector, read from their telemetry: {accepted}"
    assert write_url == f"http://{config.host}:{config.cluster_ports['receive_lb']}/api/v1/receive"
    assert canary_checks.judge_write(canary_checks.WriteAnswer(write_url, status), cluster=True) is None, status
    assert status != 404, f"{write_url} answered 404: not a remote-write endpoint"


def _kill_and_wait(cluster: StackHandle, name: str) -> float:
    """kill -9 `name`, wait until its supervisor has it running and ready again; return when it was killed."""
    killed_at = time.monotonic()
    pid = kill_9(cluster, name)
    wait_for(lambda: restarted(cluster, name, pid), timeout=60, what=f"{name} to run again after kill -9")
    return killed_at


def _series_counts(cluster: StackHandle, run_id: str) -> dict[str, int]:
    result = prom_query(cluster.prometheus_url, f'count_over_time(heron_drill_value{{drill_run="{run_id}"}}[10m])')
    return {r["metric"]["drill_series"]: int(float(r["value"][1])) for r in result}


def _backtest(cluster: StackHandle, rules: str, tmp_path: Path) -> str:
    """`alert-worker rules backtest` of the drill rule over the last two minutes, through Thanos Query."""
    path = tmp_path / "drill.rules.yml"
    path.write_text(rules, encoding="utf-8")
    argv = [sys.executable, "-m", "alert_worker", "rules", "backtest", "DrillSeriesHigh", "--rules", str(path)]
    argv += ["--since", "2m", "--step", "1s", "--prometheus-url", cluster.prometheus_url]
    run = subprocess.run(argv, check=False, capture_output=True, text=True, timeout=60, env=clean_env())
    assert run.returncode == 0, run.stderr
    return run.stdout


def test_nothing_is_lost_when_a_collector_a_receiver_a_log_node_and_the_redis_primary_are_killed(
    cluster: StackHandle, tmp_path: Path
) -> None:
    run_id = uuid.uuid4().hex[:12]
    sender = CountedSender(cluster.otlp_http_endpoint, run_id)
    sender.start()
    rule = RuleThroughFaults(cluster, run_id)
    try:
        wait_for(lambda: len(sender.points) >= 8 and len(sender.lines) >= 100, timeout=30, what="data to flow")
        rule.start()
        wait_for(lambda: rule.sent, timeout=30, what="the drill rule to fire")
        kill_times = {"collector-1": _kill_and_wait(cluster, "collector-1")}
        wait_for(lambda: len(sender.points) >= 30, timeout=30, what="more data after the collector kill")
        kill_times["receive-2"] = _kill_and_wait(cluster, "receive-2")
        wait_for(lambda: len(sender.points) >= 50, timeout=30, what="more data after the receiver kill")
        log_kill = kill_times["vlstorage-1"] = _kill_and_wait(cluster, "vlstorage-1")
        sent_before = len(sender.points)
        wait_for(lambda: len(sender.points) >= sent_before + 8, timeout=30, what="data after the log node kill")
        # The Redis primary last. Its supervisor restarts it from its append-only file sooner than the
        # sentinels' down-after (5 s), so here no failover happens (tests/integration/alert_worker/
        # test_sentinel_failover.py drives one); the engine's client, which asks the sentinels for the
        # primary, reconnects, and the alert's state is still there.
        kill_times["redis"] = _kill_and_wait(cluster, "redis")
        evaluated = rule.evaluations
        wait_for(lambda: rule.evaluations >= evaluated + 3, timeout=60, what="evaluations after the failover")
        rule_sent = [(job.status, job.alerts[0].labels["alertname"]) for job in rule.sent]
    finally:
        rule.stop()
        sender.stop()

    assert rule_sent == [("firing", "DrillSeriesHigh")], "the rule fired once and never resolved through the kills"
    replay = _backtest(cluster, rule.rules, tmp_path)
    assert "1 episode(s)" in replay, replay
    assert "still firing" in replay, replay

    points = len(sender.points)
    expected = {str(i): points for i in range(sender.series)}
    counts = wait_for(
        lambda: (c := _series_counts(cluster, run_id)) == expected and c,
        timeout=60,
        what=f"{points} points in each of {sender.series} series through Thanos Query",
    )
    assert counts == expected

    sent = sender.lines
    seen: dict[str, list[str]] = {}

    def only_window_losses() -> bool:
        got = set(logs_line_ids(cluster.victorialogs_url, run_id))
        seen["missing"] = sorted(set(sent) - got, key=sent.__getitem__)
        seen["outside"] = [line for line in seen["missing"] if not log_kill - LOSS_WINDOW <= sent[line] <= log_kill]
        return not seen["outside"]

    try:
        wait_for(only_window_losses, timeout=60, what="every log line outside the loss window")
    except AssertionError:
        offsets = sorted({round(sent[line] - log_kill, 2) for line in seen.get("outside", [])})
        kills = {name: round(at - log_kill, 2) for name, at in kill_times.items()}
        raise AssertionError(
            f"{len(seen.get('outside', []))} of {len(sent)} log lines lost outside the loss window; accepted at "
            f"{offsets[:20]} s from the log node's kill (kills at {kills})"
        ) from None
    print(
        f"points {points} x {sender.series} series, lines {len(sent)}, lost in the window {len(seen['missing'])}, "
        f"client retries {sender.retries}, failed rule evaluations {rule.failed_evaluations}"
    )
    got = logs_line_ids(cluster.victorialogs_url, run_id)
    assert set(got) <= set(sent), "the select tier returned lines nobody sent"


class OtlpTee:
    """An OTLP/HTTP endpoint that passes every request on to two stacks, accepting it only when both did."""

    def __init__(self, *targets: str) -> None:
        self.client = client = httpx.Client(timeout=30)

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                headers = {k: v for k, v in self.headers.items() if k.lower() in {"content-type", "content-encoding"}}
                codes = [client.post(f"{t}{self.path}", content=body, headers=headers).status_code for t in targets]
                self.send_response(200 if all(code == 200 for code in codes) else 503)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.client.close()


SCRAPED = re.compile(r"\bup\{|\botelcol_")
"""Collector self-metrics: each topology runs its own collectors, so their counts differ (the test above
checks the cluster's reach Thanos), and only Prometheus scrapes, so only it has `up`."""

SIMULATE = [sys.executable, "-m", "heron_stack.cli", "simulate", "--hosts", "3", "--interval", "5", "--duration", "20"]


RECORDED = re.compile(r"\b[a-z_]+:[a-z0-9_:]+")
"""A recording rule's output (`level:metric:operation`), evaluated by Prometheus or by the cluster's ruler."""


def _series(url: str, expr: str) -> set[frozenset[tuple[str, str]]]:
    return {frozenset(r["metric"].items()) for r in prom_query(url, expr)}


def _same_series(cluster_url: str, single_url: str, expr: str) -> set[frozenset[tuple[str, str]]] | None:
    """The series both answer once both evaluators have run their rules (polled), or None if they never agree."""
    try:
        return wait_for(
            lambda: (a := _series(cluster_url, expr)) == _series(single_url, expr) and (a or {frozenset()}),
            timeout=90,
            what=f"the same series from Thanos Query and Prometheus for {expr}",
        )
    except DeadlineExceeded:
        return None


def _as_set(result: list[dict[str, Any]]) -> set[tuple[frozenset[tuple[str, str]], str]]:
    return {(frozenset(r["metric"].items()), r["value"][1]) for r in result}


def test_dashboard_queries_answer_the_same_through_thanos_query_as_on_prometheus(
    cluster: StackHandle, tmp_path_factory: pytest.TempPathFactory
) -> None:
    single = start_stack(Path(tmp_path_factory.mktemp("single")), only=["prometheus", "collector"])
    tee = OtlpTee(cluster.otlp_http_endpoint, single.otlp_http_endpoint)
    prefix = f"par-{uuid.uuid4().hex[:6]}-"
    try:
        run = subprocess.run(
            [*SIMULATE, "--endpoint", tee.url, "--prefix", prefix],
            check=False,
            timeout=90,
            env=clean_env(),
            capture_output=True,
            text=True,
        )
        assert run.returncode == 0, (
            f"heron simulate through both stacks failed: {run.stdout[-600:]} {run.stderr[-600:]}"
        )
        count = f'count(count_over_time(system_uptime_seconds{{host_name=~"{prefix}.*"}}[10m]))'
        for url in (cluster.prometheus_url, single.prometheus_url):
            wait_for(partial(prom_query, url, count), timeout=30, what=f"the simulated hosts in {url}")
        at = time.time() - 2
        compared = answered = 0
        mismatched = []
        for dash in render_all().values():
            for query in queries(dash):
                if query.datasource_type != "prometheus" or not query.expr or SCRAPED.search(query.expr):
                    continue
                expr = substitute(query.expr, {"host": f"{prefix}0", "service": "none"})
                compared += 1
                if RECORDED.search(expr):
                    # Recorded series: the cluster's ruler and Prometheus evaluate the same rules at their
                    # own instants, so the values differ by when each ran; the series must match.
                    same = _same_series(cluster.prometheus_url, single.prometheus_url, expr)
                    answered += same is not None and same != {frozenset()}
                    if same is None:
                        mismatched.append(f"{query.dashboard_uid}/{query.panel_title}: {expr}")
                    continue
                on_thanos = _as_set(prom_query(cluster.prometheus_url, expr, at=at))
                on_prometheus = _as_set(prom_query(single.prometheus_url, expr, at=at))
                answered += bool(on_prometheus)
                if on_thanos != on_prometheus:
                    mismatched.append(f"{query.dashboard_uid}/{query.panel_title}: {expr}")
    finally:
        tee.close()
        single.stack.down()
    print(f"dashboard queries compared {compared}, with data {answered}")
    assert not mismatched, f"{len(mismatched)} of {compared} queries differ: {mismatched[:5]}"
    assert answered >= compared // 2, f"only {answered} of {compared} dashboard queries had data to compare"
