"""`heron doctor` verdicts against fake services: healthy, down, the wrong service on a port, refused points."""

from __future__ import annotations

import contextlib
import json
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs

import httpx
import pytest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest

from heron_stack import cli
from heron_stack import config as stack_config
from heron_stack import environment_variables as ev
from heron_stack.doctor import (
    Check,
    Probes,
    Status,
    alert_checks,
    canary_checks,
    collector,
    core,
    delivery_checks,
    diagnose,
    exit_code,
    identity,
    pipeline_checks,
    render_json,
    render_text,
)
from heron_stack.doctor.identity import Seen
from heron_stack.doctor.service_checks import Observation, judge
from heron_stack.runner import ServiceState
from heron_stack.stack_table import COLLECTORS

T0 = 1_800_000_000.0
PORTS = {
    "otlp_grpc": 14317,
    "otlp_http": 14318,
    "collector_health": 13133,
    "collector_telemetry": 18888,
    "prometheus": 19090,
    "victorialogs": 19428,
    "redis": 16379,
    "loadgen": 18080,
    "alert_api": 19097,
    "grafana": 13000,
}
HEALTHY_METRICS = """# TYPE otelcol_receiver_accepted_metric_points_total counter
otelcol_receiver_accepted_metric_points_total{receiver="otlp",transport="http"} %d
# TYPE otelcol_exporter_sent_metric_points_total counter
otelcol_exporter_sent_metric_points_total{exporter="prometheus_remote_write"} %d
# TYPE otelcol_receiver_refused_metric_points_total counter
otelcol_receiver_refused_metric_points_total{receiver="otlp",transport="http"} %d
# TYPE otelcol_exporter_queue_size gauge
otelcol_exporter_queue_size{data_type="metrics",exporter="prometheus_remote_write"} 0
otelcol_exporter_queue_size{data_type="logs",exporter="otlp_http/victorialogs"} 0
"""
WRITE_400 = canary_checks.WriteAnswer("http://127.0.0.1:19090/api/v1/write", 400)


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def monotonic(self) -> float:
        return self.t

    def now(self) -> float:
        return T0 + self.t

    def sleep(self, seconds: float) -> None:
        self.t += seconds


@dataclass
class FakeRedis:
    strings: dict[str, str] = field(default_factory=dict)
    sets: dict[str, set[str]] = field(default_factory=dict)
    hashes: dict[str, dict[str, str]] = field(default_factory=dict)
    zsets: dict[str, dict[str, float]] = field(default_factory=dict)
    ttl_ms: dict[str, int] = field(default_factory=dict)

    def smembers(self, key: str) -> set[str]:
        return self.sets.get(key, set())

    def get(self, key: str) -> str | None:
        return self.strings.get(key)

    def hget(self, key: str, name: str) -> str | None:
        return self.hashes.get(key, {}).get(name)

    def pttl(self, key: str) -> int:
        return self.ttl_ms.get(key, -2)

    def zscores(self, key: str) -> list[tuple[str, float]]:
        return sorted(self.zsets.get(key, {}).items())

    def newest(self, key: str, count: int) -> list[tuple[str, float]]:
        return sorted(self.zsets.get(key, {}).items(), key=lambda kv: -kv[1])[:count]

    def keys(self, pattern: str) -> list[str]:
        prefix, suffix = pattern.split("*")
        every = [*self.strings, *self.sets, *self.hashes, *self.zsets]
        return sorted(k for k in every if k.startswith(prefix) and k.endswith(suffix))

    def hgetall(self, key: str) -> dict[str, str]:
        return dict(self.hashes.get(key, {}))

    def close(self) -> None:
        pass


def engine_redis(
    slot_age: float | None, interval: float = 30.0, lock: bool = True, due_in: float = 5.0, runs: int = 50
) -> FakeRedis:
    """Redis as a live alert engine leaves it: one group evaluated `slot_age` seconds ago (None: never)."""
    entry = f"{alert_checks.REDBEAT_PREFIX}heron-evaluate:heron-hosts"
    definition = {"name": "heron-evaluate:heron-hosts", "schedule": {"__type__": "interval", "every": interval}}
    meta = {"last_run_at": None, "total_run_count": runs}
    evaluated = slot_age is not None
    return FakeRedis(
        # The marker the engine writes: [slot, evaluation time].
        strings={f"{alert_checks.STATE_PREFIX}slot:heron-hosts": json.dumps([T0 - slot_age, T0 - slot_age + 0.2])}
        if evaluated
        else {},
        sets={f"{alert_checks.STATE_PREFIX}groups": {"heron-hosts"}} if evaluated else {},
        hashes={entry: {"definition": json.dumps(definition), "meta": json.dumps(meta)}},
        zsets={f"{alert_checks.REDBEAT_PREFIX}:schedule": {entry: T0 + due_in}},
        ttl_ms={f"{alert_checks.REDBEAT_PREFIX}:lock": 25_000} if lock else {},
    )


Handler = Callable[[httpx.Request], httpx.Response]


@dataclass
class World:
    """A fake local stack: which ports listen, what each HTTP port answers, what `heron up` recorded."""

    tmp: Path
    running: set[str] = field(default_factory=set)
    listening: set[int] = field(default_factory=set)
    http: dict[int, Handler] = field(default_factory=dict)
    redis_reply: bytes = b"+PONG\r\n"
    redis: FakeRedis = field(default_factory=lambda: engine_redis(slot_age=10))
    clock: Clock = field(default_factory=Clock)
    sent: list[httpx.Request] = field(default_factory=list)

    def state(self, name: str) -> ServiceState:
        up = name in self.running
        return ServiceState(name, 4242 if up else None, up, self.tmp / "logs" / f"{name}.log")

    def exchange(self, host: str, port: int, payload: bytes, timeout: float) -> bytes:
        return self.redis_reply

    def is_listening(self, host: str, port: int, timeout: float) -> bool:
        return port in self.listening

    def handle(self, request: httpx.Request) -> httpx.Response:
        port = request.url.port
        if port is None or port not in self.listening or port not in self.http:
            raise httpx.ConnectError("connection refused", request=request)
        return self.http[port](request)

    def probes(self) -> Probes:
        sockets = type(
            "S", (), {"listening": lambda _s, *a: self.is_listening(*a), "exchange": lambda _s, *a: self.exchange(*a)}
        )()
        return Probes(
            http=httpx.Client(transport=httpx.MockTransport(self.handle)),
            processes=self,
            sockets=sockets,
            redis=lambda url: self.redis,
            which=lambda name: None,
            now=self.clock.now,
            monotonic=self.clock.monotonic,
            sleep=self.clock.sleep,
        )


@pytest.fixture
def cfg(tmp_path: Path) -> stack_config.StackConfig:
    return stack_config.resolve({}, state_dir=tmp_path, ports=PORTS)


def prom_vector(rows: list[tuple[dict[str, str], float]]) -> httpx.Response:
    result = [{"metric": m, "value": [T0, str(v)]} for m, v in rows]
    return httpx.Response(200, json={"status": "success", "data": {"resultType": "vector", "result": result}})


class FakePrometheus:
    """Answers readiness, targets, rules and queries; the canary shows up after `canary_after` polls."""

    def __init__(self, world: World, canary_after: int = 2, remote_write_status: int = 400) -> None:
        self.world, self.canary_after, self.remote_write_status = world, canary_after, remote_write_status
        self.canary_value: float | None = None
        self.polls = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/-/ready":
            return httpx.Response(200, text="Prometheus Server is Ready.\n")
        if path == "/api/v1/write":
            return httpx.Response(self.remote_write_status, text="snappy: corrupt input")
        if path == "/api/v1/targets":
            target = {"labels": {"job": "otel-collector"}, "health": "up", "scrapeUrl": "http://c/metrics"}
            return httpx.Response(200, json={"status": "success", "data": {"activeTargets": [target]}})
        if path == "/api/v1/rules":
            group = {"name": "heron-hosts", "rules": [{"name": "HostHighCpu", "health": "ok"}]}
            return httpx.Response(200, json={"status": "success", "data": {"groups": [group]}})
        query = request.url.params["query"]
        if query.startswith("heron_doctor_canary"):
            self.polls += 1
            found = self.polls >= self.canary_after and self.canary_value is not None
            return prom_vector([({}, self.canary_value)] if found and self.canary_value is not None else [])
        if "timestamp(system_uptime_seconds" in query:
            return prom_vector([({"host_name": "web-1"}, self.world.clock.now() - 4)])
        if "system_uptime_seconds" in query:
            return prom_vector([({"host_name": "web-1"}, 1)])
        return prom_vector([])


class FakeCollector:
    """OTLP/HTTP receiver that decodes what it is sent and hands the canary value to Prometheus."""

    def __init__(self, world: World, prometheus: FakePrometheus, status: int = 200, refused: int = 0) -> None:
        self.world, self.prometheus, self.status, self.refused = world, prometheus, status, refused
        self.metrics: list[ExportMetricsServiceRequest] = []
        self.logs: list[ExportLogsServiceRequest] = []

    def otlp(self, request: httpx.Request) -> httpx.Response:
        self.world.sent.append(request)
        if self.status != 200:
            return httpx.Response(self.status, text="Unauthorized")
        if request.url.path == "/v1/metrics":
            msg = ExportMetricsServiceRequest.FromString(request.content)
            self.metrics.append(msg)
            if not self.refused:
                point = msg.resource_metrics[0].scope_metrics[0].metrics[0].gauge.data_points[0]
                self.prometheus.canary_value = point.as_double
        else:
            self.logs.append(ExportLogsServiceRequest.FromString(request.content))
        return httpx.Response(200, content=b"")

    def telemetry(self, request: httpx.Request) -> httpx.Response:
        n = len(self.metrics)
        accepted = n if not self.refused else 0
        return httpx.Response(200, text=HEALTHY_METRICS % (accepted, accepted, self.refused * n))


def victorialogs_app(world: World, collector_: FakeCollector, ready: bool = True) -> Handler:
    """VictoriaLogs as the doctor sees it: /health, and LogsQL queries answered as JSON lines."""

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/health":
            return httpx.Response(200 if ready else 503, text="OK" if ready else "not ready")
        assert request.url.path == "/select/logsql/query"
        query = parse_qs(request.content.decode())["query"][0]
        lines = [r.resource_logs[0].scope_logs[0].log_records[0].body.string_value for r in collector_.logs]
        found = [line for line in lines if query.split('"')[-2] in line]
        body = "\n".join(json.dumps({"_msg": line, "service.name": "heron-doctor"}) for line in found)
        return httpx.Response(200, text=body)

    return handle


def healthy_world(tmp_path: Path, **collector_kw: int) -> tuple[World, FakePrometheus, FakeCollector]:
    world = World(tmp_path)
    prom = FakePrometheus(world)
    coll = FakeCollector(world, prom, **collector_kw)
    world.running = {"redis", "prometheus", "victorialogs", "collector", "mailsink", "agent", "alert-api"}
    world.running |= {"alert-worker", "alert-sender", "alert-beat", "loadgen"}
    world.listening = {p for name, p in PORTS.items() if name != "grafana"}
    world.http = {
        PORTS["prometheus"]: prom,
        PORTS["victorialogs"]: victorialogs_app(world, coll),
        PORTS["collector_health"]: lambda r: httpx.Response(200, json={"status": "Server available"}),
        PORTS["otlp_http"]: coll.otlp,
        PORTS["collector_telemetry"]: coll.telemetry,
        PORTS["alert_api"]: lambda r: httpx.Response(200, json={"status": "ok"}),
        PORTS["loadgen"]: lambda r: httpx.Response(200, json={"status": "healthy", "version": "1"}),
    }
    return world, prom, coll


def by(checks: list[Check], component: str) -> list[Check]:
    return [c for c in checks if c.component == component]


def test_a_healthy_stack_passes_every_check_and_times_both_canary_legs(
    tmp_path: Path, cfg: stack_config.StackConfig
) -> None:
    world, _, coll = healthy_world(tmp_path)

    checks = diagnose(cfg, world.probes(), agent_every=10)

    assert [c for c in checks if c.status is not Status.OK] == []
    assert exit_code(checks) == 0
    canary = by(checks, "canary")
    assert [c.what.split(" in ")[0] for c in canary] == ["metric reached Prometheus", "log record reached VictoriaLogs"]
    assert canary[0].data["latency_s"] == pytest.approx(0.2)  # found on the second poll, 0.2 s apart
    sent = coll.metrics[0].resource_metrics[0]
    assert sent.scope_metrics[0].metrics[0].name == "heron.doctor.canary"
    assert {a.key for a in sent.resource.attributes} == {"service.name", "heron.doctor.canary"}
    assert "authorization" not in world.sent[0].headers


def test_the_canary_carries_the_configured_bearer_token(tmp_path: Path) -> None:
    world, _, _ = healthy_world(tmp_path)
    cfg = stack_config.resolve({"HERON_OTLP_TOKEN": "t0ken"}, state_dir=tmp_path, ports=PORTS)

    checks = diagnose(cfg, world.probes())

    assert {r.headers["authorization"] for r in world.sent} == {"Bearer t0ken"}
    assert "t0ken" not in render_text(checks, 1.0) + render_json(checks, 1.0)


def test_a_stopped_service_fails_with_the_start_command_and_its_last_log_lines(
    tmp_path: Path, cfg: stack_config.StackConfig
) -> None:
    world, _, _ = healthy_world(tmp_path)
    world.running.discard("victorialogs")
    world.listening.discard(PORTS["victorialogs"])
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "victorialogs.log").write_text(
        "info starting\nfatal cannot create directory /data: permission denied\n"
    )

    checks = diagnose(cfg, world.probes(), canary_wait=2)

    store = by(checks, "victorialogs")[0]
    assert store.status is Status.FAIL
    assert "not running" in store.what
    assert "heron up --only victorialogs" in store.fix
    assert any("permission denied" in line for line in store.detail)
    assert [c.status for c in by(checks, "canary")] == [Status.OK, Status.WARN]  # logs sent, not followed
    assert exit_code(checks) == 1


def test_another_program_on_the_prometheus_port_is_named_with_the_variable_to_change(
    tmp_path: Path, cfg: stack_config.StackConfig
) -> None:
    world, _, _ = healthy_world(tmp_path)
    world.running.discard("prometheus")
    world.http[PORTS["prometheus"]] = lambda r: httpx.Response(404, text="404 page not found")

    checks = diagnose(cfg, world.probes())

    prom = by(checks, "prometheus")[0]
    assert prom.status is Status.FAIL
    assert prom.what.startswith(f"port {PORTS['prometheus']} answers but is not Prometheus")
    assert "set HERON_PROMETHEUS_PORT" in prom.fix
    assert [c.what for c in by(checks, "pipeline")] == ["not checked: Prometheus is not ready"]


def test_a_port_that_is_not_redis_and_a_redis_that_is_loading(tmp_path: Path, cfg: stack_config.StackConfig) -> None:
    world, _, _ = healthy_world(tmp_path)
    world.redis_reply = b"HTTP/1.1 400 Bad Request\r\n"
    checks = diagnose(cfg, world.probes())
    assert by(checks, "redis")[0].status is Status.FAIL
    assert "set HERON_REDIS_PORT" in by(checks, "redis")[0].fix
    assert by(checks, "alert-engine")[0].what == "not checked: Redis is not ready"

    world.redis_reply = b"-LOADING Redis is loading the dataset in memory\r\n"
    redis = by(diagnose(cfg, world.probes()), "redis")[0]
    assert (redis.status, "loading" in redis.what) == (Status.FAIL, True)


def test_refused_points_make_the_canary_fail_at_the_collector(tmp_path: Path, cfg: stack_config.StackConfig) -> None:
    world, _, _ = healthy_world(tmp_path, refused=1)

    checks = diagnose(cfg, world.probes(), canary_wait=3)

    metric = by(checks, "canary")[0]
    assert metric.status is Status.FAIL
    assert metric.what == "metric not in Prometheus after 3s: the collector refused it (memory limiter)"
    assert "HERON_COLLECTOR_MEMORY_LIMIT_MIB" in metric.fix
    assert world.clock.t == pytest.approx(3.0, abs=0.25)  # gave up at the deadline, not before or long after


def test_a_401_from_the_collector_names_the_token_setting(tmp_path: Path, cfg: stack_config.StackConfig) -> None:
    world, _, _ = healthy_world(tmp_path, status=401)

    canary = by(diagnose(cfg, world.probes()), "canary")

    assert [c.status for c in canary] == [Status.FAIL, Status.FAIL]
    assert "401 Unauthorized" in canary[0].what
    assert "set HERON_OTLP_TOKEN" in canary[0].fix
    assert world.clock.t == 0  # nothing accepted, so nothing to wait for


def test_a_disabled_remote_write_receiver_is_the_named_hop(tmp_path: Path, cfg: stack_config.StackConfig) -> None:
    world, prom, _ = healthy_world(tmp_path)
    prom.canary_after = 10**6
    prom.remote_write_status = 404

    metric = by(diagnose(cfg, world.probes(), canary_wait=1), "canary")[0]

    assert metric.what.endswith("Prometheus' remote-write receiver is off")
    assert metric.fix == "start Prometheus with --web.enable-remote-write-receiver"


@pytest.mark.parametrize(
    ("d", "expected"),
    [
        ({"otelcol_receiver_accepted_metric_points_total": 0}, "the collector did not count it as accepted"),
        (
            {"otelcol_exporter_send_failed_metric_points_total": 1},
            "remote write from the collector to Prometheus failed",
        ),
        ({"queue:metrics": 7}, "7 batches wait in the collector's remote-write queue"),
        ({"otelcol_exporter_sent_metric_points_total": 1}, "the collector sent it but Prometheus dropped the sample"),
        ({}, "accepted but not exported yet"),
    ],
)
def test_the_lost_metric_is_blamed_on_the_first_hop_whose_counters_moved(d: dict[str, float], expected: str) -> None:
    base = dict.fromkeys([*collector.WATCHED, "queue:metrics", "queue:logs"], 0.0)
    base["otelcol_receiver_accepted_metric_points_total"] = 1
    check = canary_checks.judge_metric_leg(None, 15, {**base, **d}, canary_checks.judge_write(WRITE_400, cluster=False))
    assert check.what == f"metric not in Prometheus after 15s: {expected}"


@pytest.mark.parametrize(
    ("d", "what", "fix"),
    [
        (
            {"otelcol_exporter_send_failed_metric_points_total": 1},
            "remote write from the collector to the Thanos receivers failed",
            "see the logs of receive-1, receive-2, receive-3 and haproxy",
        ),
        ({"queue:metrics": 2}, "2 batches wait in the collector's remote-write queue", "the Thanos receivers cannot"),
        ({"otelcol_exporter_sent_metric_points_total": 1}, "the Thanos receivers dropped the sample", "receive-1"),
    ],
)
def test_in_the_cluster_the_lost_metric_blames_the_receivers_not_prometheus(
    d: dict[str, float], what: str, fix: str
) -> None:
    base = dict.fromkeys([*collector.WATCHED, "queue:metrics", "queue:logs"], 0.0)
    base["otelcol_receiver_accepted_metric_points_total"] = 1
    check = canary_checks.judge_metric_leg(None, 15, {**base, **d}, None, cluster=True)
    assert what in check.what
    assert fix in check.fix
    assert "HERON_PROMETHEUS_PORT" not in check.fix
    assert "Prometheus'" not in check.fix


def test_collector_counters_are_summed_over_label_sets_and_split_queues_by_signal() -> None:
    text = HEALTHY_METRICS % (3, 2, 1) + (
        'otelcol_receiver_accepted_metric_points_total{receiver="otlp",transport="grpc"} 4\n'
    )
    before = collector.parse(HEALTHY_METRICS % (0, 0, 0))
    after = collector.parse(text)
    assert collector.delta(before, after)["otelcol_receiver_accepted_metric_points_total"] == 7
    assert collector.delta(before, after)["otelcol_receiver_refused_metric_points_total"] == 1
    assert collector.delta(before, None) == {}


@pytest.mark.parametrize(
    ("name", "status", "body", "seen"),
    [
        ("prometheus", 200, "Prometheus Server is Ready.", Seen.READY),
        ("prometheus", 503, "Service Unavailable", Seen.STARTING),
        ("prometheus", 200, "ready", Seen.FOREIGN),
        ("victorialogs", 200, "OK", Seen.READY),
        ("victorialogs", 503, "storage is starting", Seen.STARTING),
        ("victorialogs", 200, "Prometheus Server is Ready.", Seen.FOREIGN),
        ("collector", 200, '{"status":"Server available","uptime":"1s"}', Seen.READY),
        ("collector", 503, '{"status":"Server not available"}', Seen.STARTING),
        ("collector", 200, "<html>", Seen.FOREIGN),
        ("alert-api", 200, '{"status":"ok"}', Seen.READY),
        ("alert-api", 200, '{"status":"healthy"}', Seen.FOREIGN),  # loadgen on the alert API's port
        ("loadgen", 200, '{"status":"ok"}', Seen.FOREIGN),
        ("grafana", 200, '{"database":"ok","version":"11.6.0"}', Seen.READY),
        ("grafana", 503, '{"database":"failing"}', Seen.STARTING),
    ],
)
def test_each_readiness_probe_tells_its_service_from_another(name: str, status: int, body: str, seen: Seen) -> None:
    assert identity.ENDPOINTS[name].classify(status, body)[0] is seen


def test_a_running_service_that_is_not_listening_points_at_its_log(tmp_path: Path) -> None:
    obs = Observation(
        "prometheus", True, 99, tmp_path / "prometheus.log", ("err: bind",), "127.0.0.1:9090", 9090, "X", False
    )
    check = judge(obs, identity.ENDPOINTS["prometheus"])
    assert check.status is Status.FAIL
    assert check.what == "running (pid 99) but nothing answers on 127.0.0.1:9090"
    assert check.detail == (f"last lines of {tmp_path / 'prometheus.log'}:", "  err: bind")


def test_a_service_run_outside_heron_up_that_answers_correctly_is_fine(tmp_path: Path) -> None:
    obs = Observation(
        "victorialogs", False, None, tmp_path / "l.log", (), "127.0.0.1:9428", 9428, "X", True, (Seen.READY, "ready")
    )
    check = judge(obs, identity.ENDPOINTS["victorialogs"])
    assert (check.status, check.what) == (Status.OK, "ready at http://127.0.0.1:9428 (not started by `heron up`)")


def test_scrape_targets_and_rules() -> None:
    down = {"labels": {"job": "otel-collector"}, "health": "down", "scrapeUrl": "u", "lastError": "connection refused"}
    assert pipeline_checks.judge_targets({"activeTargets": [down]}).what.endswith("is down: connection refused")
    stale = pipeline_checks.judge_targets({"activeTargets": [down]}, answers_now=True)
    assert (stale.status, stale.what) == (
        Status.WARN,
        "last scrape of u failed (connection refused) but it answers now",
    )
    assert "no `otel-collector` scrape job" in pipeline_checks.judge_targets({"activeTargets": []}).what
    broken = {"groups": [{"name": "g", "rules": [{"name": "Bad", "health": "err", "lastError": "vector cannot"}]}]}
    check = pipeline_checks.judge_rules(broken)
    assert (check.status, check.what) == (Status.FAIL, "1 rule(s) fail to evaluate (Bad); g: vector cannot")


def test_counters_that_increased_are_blamed_on_their_component() -> None:
    increases = dict.fromkeys(pipeline_checks.COUNTERS, 0.0)
    increases["otelcol_receiver_refused_metric_points_total"] = 120
    increases["otelcol_exporter_send_failed_log_records_total"] = 3
    checks = pipeline_checks.judge_counters(increases, accepted=1000)
    assert [(c.status, c.component, c.what) for c in checks] == [
        (Status.FAIL, "collector", "refused 120 metric points in the last 5 min"),
        (Status.FAIL, "victorialogs", "the collector failed to send 3 log records to VictoriaLogs in the last 5 min"),
    ]
    assert pipeline_checks.judge_counters(dict.fromkeys(increases, 0.0), 1000)[0].status is Status.OK


@pytest.mark.parametrize(
    ("ages", "known", "status", "what"),
    [
        ({"a": 3.0, "b": 12.0}, ["a", "b"], Status.OK, "2 host(s) reporting, newest sample 3s ago"),
        ({"a": 3.0, "b": 31.0}, ["a", "b"], Status.FAIL, "1 of 2 host(s) silent for more than 30s (3 intervals): b"),
        ({"a": 3.0}, ["a", "gone"], Status.FAIL, "1 of 2 host(s) silent for more than 30s (3 intervals): gone"),
        ({}, [], Status.FAIL, "no host reports system_uptime_seconds"),
    ],
)
def test_agent_freshness_is_three_intervals_per_host(
    ages: dict[str, float], known: list[str], status: Status, what: str
) -> None:
    check = pipeline_checks.judge_agents(ages, known, interval=10)
    assert (check.status, check.what) == (status, what)


@pytest.mark.parametrize(
    ("redis", "statuses", "fragment"),
    [
        (engine_redis(slot_age=40), [Status.OK, Status.OK], "evaluated on time"),
        (engine_redis(slot_age=200), [Status.FAIL, Status.OK], "heron-hosts last evaluated 200s ago (every 30s)"),
        (engine_redis(slot_age=10, lock=False), [Status.OK, Status.FAIL], "no beat holds the RedBeat lock"),
        (engine_redis(slot_age=10, due_in=-90), [Status.OK, Status.FAIL], "overdue by up to 90s"),
        (FakeRedis(), [Status.FAIL, Status.FAIL], "no rule group has ever been evaluated"),
        (engine_redis(slot_age=None, runs=50), [Status.FAIL, Status.OK], "heron-hosts last evaluated never"),
        (engine_redis(slot_age=None, runs=1), [Status.WARN, Status.OK], "the schedule has just started"),
    ],
)
def test_alert_engine_liveness_from_its_redis_state(
    tmp_path: Path, cfg: stack_config.StackConfig, redis: FakeRedis, statuses: list[Status], fragment: str
) -> None:
    world = World(tmp_path, redis=redis)
    checks = alert_checks.check_alert_engine(cfg, world.probes())
    assert [c.status for c in checks] == [*statuses, Status.OK]
    assert any(fragment in c.what for c in checks)
    assert checks[-1].what == "no notification dead-lettered in the last 24 h"


def test_groups_behind_are_blamed_on_the_worker_or_on_a_missing_beat(
    tmp_path: Path, cfg: stack_config.StackConfig
) -> None:
    worker_down = alert_checks.check_alert_engine(cfg, World(tmp_path, redis=engine_redis(slot_age=200)).probes())
    beat_down = alert_checks.check_alert_engine(
        cfg, World(tmp_path, redis=engine_redis(slot_age=200, lock=False)).probes()
    )
    assert worker_down[0].fix.startswith("is alert-worker running and consuming its queue?")
    assert beat_down[0].fix == "no beat schedules them: start alert-beat (next line)"


def test_unhealthy_destinations_and_dead_letters_are_reported_with_the_test_command(
    tmp_path: Path, cfg: stack_config.StackConfig
) -> None:
    redis = engine_redis(slot_age=10)
    redis.hashes["heron:dest:ops-telegram:health"] = {
        "healthy": "0",
        "reason": "403 Forbidden: bot was blocked by the user",
        "since": repr(T0 - 600),
    }
    redis.hashes["heron:dest:oncall-mail:health"] = {"healthy": "1", "reason": "", "since": repr(T0 - 60)}
    redis.hashes["heron:outbox:k1"] = {"state": "dead", "last_error": "smtp: 535 authentication failed"}
    redis.zsets["heron:dlq"] = {"heron:outbox:k0": T0 - 3 * 86400, "heron:outbox:k1": T0 - 120}

    checks = alert_checks.check_alert_engine(cfg, World(tmp_path, redis=redis).probes())

    delivery = [(c.status, c.what) for c in checks if c.component == "notifications"]
    assert delivery == [
        (Status.FAIL, "destination ops-telegram is unhealthy for 10 min: 403 Forbidden: bot was blocked by the user"),
        (
            Status.WARN,
            "1 notification dead-lettered in the last 24 h; newest 2 min ago: smtp: 535 authentication failed",
        ),
    ]
    assert "alert-worker notify test --channel ops-telegram" in checks[2].fix


def test_the_agent_interval_comes_from_the_agents_own_variable() -> None:
    from otel_agent import env as agent_env

    assert core.AGENT_INTERVAL_VAR == agent_env.HERON_AGENT_INTERVAL
    assert core.agent_interval({agent_env.HERON_AGENT_INTERVAL: "2.5"}) == 2.5
    assert core.agent_interval({agent_env.HERON_AGENT_INTERVAL: "soon"}) == core.DEFAULT_AGENT_INTERVAL


def test_the_alert_engine_keys_match_the_ones_the_worker_writes() -> None:
    from alert_worker.delivery import outbox, state
    from alert_worker.state import redis_store

    assert redis_store.PREFIX == alert_checks.STATE_PREFIX
    assert (state.PREFIX, outbox.DLQ_KEY) == (delivery_checks.DEST_PREFIX, delivery_checks.DLQ_KEY)
    source = (Path(alert_checks.__file__).parents[2] / "alert_worker" / "celery_app.py").read_text()
    assert f'redbeat_key_prefix="{alert_checks.REDBEAT_PREFIX}"' in source
    assert f'schedule[f"{alert_checks.EVALUATE_ENTRY}{{group.name}}"]' in source


def test_text_report_is_one_line_per_check_with_the_fix_and_a_summary() -> None:
    checks = [
        Check(Status.OK, "redis", "ready at 127.0.0.1:6379 (pid 1)"),
        Check(Status.FAIL, "victorialogs", "not running", "start it: `heron up`", ("victorialogs.log: boom",)),
    ]
    text = render_text(checks, 1.25)
    assert text.splitlines() == [
        "ok    redis         ready at 127.0.0.1:6379 (pid 1)",
        "FAIL  victorialogs  not running  — start it: `heron up`",
        "      victorialogs.log: boom",
        "",
        "problems found: 1 ok, 0 warn, 1 FAIL (1.2s)",
    ]
    body = json.loads(render_json(checks, 1.25))
    assert body["ok"] is False
    assert body["summary"] == {"ok": 1, "warn": 0, "fail": 1}
    assert body["checks"][1] == {
        "status": "fail",
        "component": "victorialogs",
        "what": "not running",
        "fix": "start it: `heron up`",
        "detail": ["victorialogs.log: boom"],
        "data": {},
    }


def test_the_cli_rejects_a_timeout_out_of_range(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        cli.main(["doctor", "--timeout", "0"])
    assert exc.value.code == 2
    assert "'0' is not valid: a number of seconds from 1 to 600" in capsys.readouterr().err


def test_the_cli_reports_every_service_down_when_nothing_answers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Ports held by bound, non-listening sockets refuse connections: every service is down, exit code 1."""
    monkeypatch.setenv("HERON_STATE_DIR", str(tmp_path))
    with contextlib.ExitStack() as held:
        for name in PORTS:
            sock = held.enter_context(socket.socket())
            sock.bind(("127.0.0.1", 0))
            monkeypatch.setenv(ev.PORT_VARIABLES[name][0], str(sock.getsockname()[1]))
        code = cli.main(["doctor", "--json", "--timeout", "5"])
    body = json.loads(capsys.readouterr().out)
    assert code == 1
    failed = {c["component"]: c for c in body["checks"] if c["status"] == "fail"}
    assert {"redis", "prometheus", "victorialogs", "collector", "agent", "alert-api"} <= set(failed)
    assert failed["prometheus"]["fix"] == "start it: `heron up` (or `heron up --only prometheus`)"
    assert [c["what"] for c in body["checks"] if c["component"] == "canary"] == ["not sent: the collector is not ready"]


class Telemetry:
    """One collector's own metrics endpoint: `before` on the first read, `after` on every later one."""

    def __init__(self, before: tuple[int, int, int], after: tuple[int, int, int]) -> None:
        self.reads = [before, after]

    def __call__(self, request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/metrics"
        counts = self.reads.pop(0) if len(self.reads) > 1 else self.reads[0]
        return httpx.Response(200, text=HEALTHY_METRICS % counts)


def cluster_world(
    tmp_path: Path, telemetry: dict[str, Telemetry], receive_lb_status: int = 400
) -> tuple[World, stack_config.StackConfig, list[httpx.Request]]:
    """The cluster as the canary sees it: HAProxy on the OTLP port, Thanos Query on the Prometheus port (the
    canary never shows up there), two collectors' telemetry and the receivers' load balancer on their own ports."""
    config = stack_config.resolve({"HERON_TOPOLOGY": "cluster"}, state_dir=tmp_path, ports=PORTS)
    world, prom, _ = healthy_world(tmp_path)
    prom.canary_after = 10**6
    del world.http[PORTS["collector_telemetry"]]
    writes: list[httpx.Request] = []

    def receive_lb(request: httpx.Request) -> httpx.Response:
        writes.append(request)
        return httpx.Response(receive_lb_status, text="snappy decode error")

    for name, handler in telemetry.items():
        world.http[config.cluster_ports[f"{name}_telemetry"]] = handler
    world.http[config.cluster_ports["receive_lb"]] = receive_lb
    world.listening = set(world.http)
    return world, config, writes


FOLLOW_BOTH = {"metrics": True, "logs": True}


def test_the_cluster_canary_sums_the_counters_of_both_collectors(tmp_path: Path) -> None:
    # (accepted metric points, sent metric points, refused metric points): collector-1 took the point,
    # collector-2 exported one; only the sum says the point left the collectors.
    world, config, _ = cluster_world(
        tmp_path, {"collector-1": Telemetry((5, 5, 0), (6, 5, 0)), "collector-2": Telemetry((7, 7, 0), (7, 8, 0))}
    )

    metric = canary_checks.run_canary(config, world.probes(), 1, {"metrics": True})[0]

    assert metric.what == (
        "metric not in Prometheus after 1s: the collector sent it but the Thanos receivers dropped the sample"
    )


def test_the_cluster_canary_names_the_collector_whose_telemetry_did_not_answer(tmp_path: Path) -> None:
    world, config, _ = cluster_world(tmp_path, {"collector-1": Telemetry((5, 5, 0), (6, 6, 0))})

    metric, log = canary_checks.run_canary(config, world.probes(), 1, FOLLOW_BOTH)

    port = config.cluster_ports["collector-2_telemetry"]
    silent = f"collector-2's telemetry (http://127.0.0.1:{port}/metrics) did not answer"
    assert metric.status is Status.FAIL
    assert metric.what == f"metric not in Prometheus after 1s; {silent}"
    assert metric.fix == f"is collector-2 running? see `heron status` and its log {tmp_path / 'logs/collector-2.log'}"
    assert "collector-1" not in metric.what + metric.fix
    assert log.status is Status.OK  # the log leg arrived, so nothing to blame


def test_the_cluster_canary_probes_the_receivers_load_balancer_not_thanos_query(tmp_path: Path) -> None:
    telemetry = {name: Telemetry((5, 5, 0), (6, 5, 0)) for name in COLLECTORS}
    world, config, writes = cluster_world(tmp_path, telemetry, receive_lb_status=503)

    metric = canary_checks.run_canary(config, world.probes(), 1, {"metrics": True})[0]

    lb = f"http://127.0.0.1:{config.cluster_ports['receive_lb']}/api/v1/receive"
    assert [str(w.url) for w in writes] == [lb]
    assert metric.what == f"metric not in Prometheus after 1s: the receivers' load balancer {lb} answered 503"
    assert "receive-1, receive-2, receive-3" in metric.fix
    assert not [r for r in world.sent if r.url.path == "/api/v1/write"]


def test_a_404_from_a_receiver_is_not_blamed_on_prometheus_flags_in_the_cluster(tmp_path: Path) -> None:
    telemetry = {name: Telemetry((5, 5, 0), (6, 5, 0)) for name in COLLECTORS}
    world, config, _ = cluster_world(tmp_path, telemetry, receive_lb_status=404)

    metric = canary_checks.run_canary(config, world.probes(), 1, {"metrics": True})[0]

    assert metric.what == "metric not in Prometheus after 1s: accepted but not exported yet"


def test_the_single_node_canary_probes_prometheus_remote_write_receiver(
    tmp_path: Path, cfg: stack_config.StackConfig
) -> None:
    world, prom, _ = healthy_world(tmp_path)
    prom.canary_after = 10**6
    prom.remote_write_status = 404
    probed: list[str] = []
    handler = world.http[PORTS["prometheus"]]

    def recording(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            probed.append(str(request.url))
        return handler(request)

    world.http[PORTS["prometheus"]] = recording

    metric = canary_checks.run_canary(cfg, world.probes(), 1, {"metrics": True})[0]

    assert probed == [f"http://127.0.0.1:{PORTS['prometheus']}/api/v1/write"]
    assert metric.what == "metric not in Prometheus after 1s: Prometheus' remote-write receiver is off"


def test_collector_growth_is_summed_over_collectors_and_names_the_silent_ones() -> None:
    before = {"collector-1": collector.parse(HEALTHY_METRICS % (1, 1, 0)), "collector-2": None}
    after = {"collector-1": collector.parse(HEALTHY_METRICS % (4, 2, 0)), "collector-2": None}
    grown = collector.delta_each(before, after)
    assert grown.silent == ["collector-2"]
    assert grown.counters["otelcol_receiver_accepted_metric_points_total"] == 3

    both = {**before, "collector-2": collector.parse(HEALTHY_METRICS % (10, 10, 1))}
    later = {**after, "collector-2": collector.parse(HEALTHY_METRICS % (12, 10, 3))}
    grown = collector.delta_each(both, later)
    assert grown.silent == []
    assert grown.counters["otelcol_receiver_accepted_metric_points_total"] == 5
    assert grown.counters["otelcol_receiver_refused_metric_points_total"] == 2
