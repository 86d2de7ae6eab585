"""Every query of every dashboard returns data from the real pipeline: "No data" fails the test.

Real Heron parts produce the data: the agent reports a unique host every second; the load lab
(started by the same runner as `heron up`) runs CPU, memory, disk and traffic actions; the alert
worker (API, worker, beat) evaluates the default rules, and the CPU spike fires LoadlabCpuSpike to the
console channel; an app instrumented with the Heron SDK serves requests, some failing. Then every
PromQL query runs against Prometheus and every LogsQL query against VictoriaLogs, with the dashboard's
variables set to what those parts reported.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from heron_stack.dashboards import render_all
from heron_stack.dashboards.checks import PanelQuery, queries, substitute
from tests.fixtures.stack import StackHandle, clean_env, start_stack
from tests.helpers import logs_query, prom_query, wait_for

pytestmark = pytest.mark.integration

APP_SERVICE = "dash-proof-app"
LOGS = "heron-logs"
HERON_SERVICES = ["redis", "alert-api", "alert-worker", "alert-sender", "alert-beat", "loadgen"]

SDK_APP = textwrap.dedent(
    """
    import signal
    import sys
    import time

    import flask
    import heron

    app = flask.Flask("proof")

    @app.get("/orders/<int:order_id>")
    def order(order_id):
        return {"order": order_id}

    @app.get("/checkout")
    def checkout():
        raise RuntimeError("payment service timed out")

    heron.init(service_name=sys.argv[2], endpoint=sys.argv[1])
    running = True

    def stop(*_):
        global running
        running = False

    signal.signal(signal.SIGTERM, stop)
    client = app.test_client()
    i = 0
    while running:  # a live app: steady traffic, one request in ten fails
        client.get("/checkout" if i % 10 == 9 else f"/orders/{i}")
        i += 1
        time.sleep(0.1)
    print(heron.shutdown(timeout=10))
    """
)


def _send_a_trace(stack: StackHandle, host: str) -> None:
    """An app on the same host sends one span, so the trace panels have something to show."""
    provider = TracerProvider(resource=Resource.create({"host.name": host, "service.name": "dash-app"}))
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=f"{stack.otlp_http_endpoint}/v1/traces")))
    with provider.get_tracer("heron.tests").start_as_current_span("GET /checkout"):
        pass
    provider.shutdown()


@pytest.fixture(scope="module")
def agent_host(stack: StackHandle) -> Iterator[str]:
    host = f"dash-{uuid.uuid4().hex[:8]}"
    env = clean_env({"OTEL_RESOURCE_ATTRIBUTES": f"host.name={host}"})
    argv = [sys.executable, "-m", "otel_agent", "run", "--endpoint", stack.otlp_http_endpoint, "--interval", "1"]
    log_path = stack.state_dir / f"agent-{host}.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        _send_a_trace(stack, host)
        wait_for(
            lambda: prom_query(stack.prometheus_url, f'system_uptime_seconds{{host_name="{host}"}}'),
            timeout=60,
            what=f"the agent on {host} reporting (its log: {log_path})",
        )
        yield host
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _post(base: str, path: str, body: dict[str, Any]) -> None:
    resp = httpx.post(f"{base}{path}", json=body, timeout=10)
    assert resp.status_code in (200, 201, 202), f"{path}: {resp.status_code} {resp.text}"


def _alert_firing(api: str, name: str) -> bool:
    alerts = httpx.get(f"{api}/api/alerts/active", timeout=5).json()["alerts"]
    return any(a["labels"].get("alertname") == name and a["state"] == "firing" for a in alerts)


@pytest.fixture(scope="module")
def live(stack: StackHandle, agent_host: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Heron's own services running against the stack, having produced every kind of data once."""
    shared = {name: stack.config.port(name) for name in ("otlp_http", "otlp_grpc", "prometheus", "victorialogs")}
    services = start_stack(tmp_path_factory.mktemp("heron-services"), ports=shared, only=HERON_SERVICES)
    app_processes: list[subprocess.Popen[bytes]] = []
    try:
        loadgen = services.config.url("loadgen")
        # Long enough to fire (for: 30s) and outlast the default routing's group_wait (30s): an alert
        # that resolves before its group's first notification is, rightly, never sent.
        _post(loadgen, "/api/actions/cpu-stress", {"target_percent": 95, "duration_seconds": 150, "cores": 0})
        _post(loadgen, "/api/actions/traffic", {"requests_per_sec": 40, "duration_seconds": 8})
        _post(loadgen, "/api/actions/disk-io", {"operations": 40, "file_size_kb": 64})
        _post(loadgen, "/api/actions/memory-leak", {"size_mb": 32, "duration_seconds": 20, "steps": 2})
        app_log = stack.state_dir / "sdk-proof-app.log"
        with app_log.open("wb") as log:
            app = subprocess.Popen(
                [sys.executable, "-c", SDK_APP, stack.otlp_http_endpoint, APP_SERVICE],
                env=clean_env({"OTEL_METRIC_EXPORT_INTERVAL": "2000"}),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        app_processes.append(app)
        api = services.config.url("alert_api")
        wait_for(
            lambda: _alert_firing(api, "LoadlabCpuSpike"),
            timeout=150,
            what="LoadlabCpuSpike firing in the alert worker",
        )
        yield {"host": agent_host, "service": APP_SERVICE}
    finally:
        for proc in app_processes:
            proc.terminate()
            proc.wait(timeout=30)
        services.stack.down()


def _cases() -> list[Any]:
    return [
        pytest.param(q, id=f"{q.dashboard_uid}:{q.panel_title}:{i}")
        for dash in render_all().values()
        for i, q in enumerate(queries(dash))
    ]


def _annotation_cases() -> list[Any]:
    return [
        pytest.param(a, id=f"{dash['uid']}:{a['name']}")
        for dash in render_all().values()
        for a in dash.get("annotations", {}).get("list", [])
        if a.get("datasource", {}).get("uid") == LOGS
    ]


def _run(stack: StackHandle, uid: str, expr: str) -> list[dict[str, Any]]:
    if uid == "heron-prometheus":
        return prom_query(stack.prometheus_url, expr)
    assert uid == LOGS, f"unknown datasource {uid}"
    return logs_query(stack.victorialogs_url, expr, since_s=1800, limit=1000)


@pytest.mark.parametrize("query", _cases())
def test_every_panel_shows_data_from_the_real_pipeline(
    stack: StackHandle, live: dict[str, str], query: PanelQuery
) -> None:
    expr = substitute(query.expr, live)
    series = wait_for(
        lambda: _run(stack, query.datasource_uid, expr),
        timeout=90,
        what=f"data for panel {query.panel_title!r} of {query.dashboard_uid}: {expr}",
    )
    assert series


@pytest.mark.parametrize("annotation", _annotation_cases())
def test_every_annotation_finds_events(stack: StackHandle, live: dict[str, str], annotation: dict[str, Any]) -> None:
    expr = substitute(annotation["expr"], live)
    events = wait_for(lambda: _run(stack, LOGS, expr), timeout=60, what=f"annotation events: {expr}")
    assert {e["service.name"] for e in events} == {"heron-loadgen"}
    assert all(e["event.type"].startswith(("action_", "scenario_")) for e in events), events


def test_variables_list_what_the_parts_reported(stack: StackHandle, live: dict[str, str]) -> None:
    found: dict[str, set[str]] = {}
    for dash in render_all().values():
        for variable in dash.get("templating", {}).get("list", []):
            metric, label = variable["query"].removeprefix("label_values(").removesuffix(")").split(", ")
            found.setdefault(variable["name"], set()).update(
                s["metric"][label] for s in prom_query(stack.prometheus_url, metric)
            )
    assert live["host"] in found["host"]
    assert live["service"] in found["service"]


def test_the_proof_covers_every_dashboard() -> None:
    covered = {p.values[0].dashboard_uid for p in _cases()}
    assert covered == {dash["uid"] for dash in render_all().values()}


def _log_panel(title: str) -> PanelQuery:
    (found,) = [q for dash in render_all().values() for q in queries(dash) if q.panel_title == title]
    assert found.datasource_uid == LOGS
    return found


def _log_lines(stack: StackHandle, live: dict[str, str], title: str, want: str) -> list[dict[str, Any]]:
    expr = substitute(_log_panel(title).expr, live)
    return wait_for(
        lambda: (rows := _run(stack, LOGS, expr)) and any(want in r["_msg"] for r in rows) and rows,
        timeout=90,
        what=f"a line with {want!r} in panel {title!r}: {expr}",
    )


def test_load_lab_event_log_shows_the_actions_that_ran(stack: StackHandle, live: dict[str, str]) -> None:
    rows = _log_lines(stack, live, "Actions and scenarios", "cpu-stress started")
    assert {r["service.name"] for r in rows} == {"heron-loadgen"}
    types = {r["event.type"] for r in rows}
    assert {"action_started"} <= types, types
    assert all(t.startswith(("action_", "scenario_")) for t in types), types
    assert any("traffic" in r["_msg"] for r in rows), "the traffic action is missing from the event log"


def test_app_log_panel_shows_only_the_selected_service(stack: StackHandle, live: dict[str, str]) -> None:
    rows = _log_lines(stack, live, "Logs of the selected services", "payment service timed out")
    assert {r["service.name"] for r in rows} == {live["service"]}
    errors = [r for r in rows if "payment service timed out" in r["_msg"]]
    # The SDK logs the failed request's exception as an ERROR inside its server span: the trace id links it.
    assert {r["severity_text"] for r in errors} == {"ERROR"}
    assert all(len(r.get("trace_id", "")) == 32 for r in errors), errors[:2]


def test_alert_history_panel_shows_the_transition_of_the_fired_rule(stack: StackHandle, live: dict[str, str]) -> None:
    rows = _log_lines(stack, live, "Recent transitions and notifications", "LoadlabCpuSpike")
    assert {r["service.name"] for r in rows} <= {"heron-alert-worker", "heron-alert-sender", "heron-alert-beat"}


@pytest.mark.parametrize(
    "selector",
    [
        'service.name="otel-agent", host.name="{host}"',
        'service.name="heron-loadgen"',
        'service.name="heron-alert-worker"',
        'service.name="{service}"',
    ],
    ids=["agent", "loadgen", "alert-worker", "sdk-app"],
)
def test_every_heron_part_logs_to_the_log_store(stack: StackHandle, live: dict[str, str], selector: str) -> None:
    query = "{" + selector.format(**live) + "}"
    rows = wait_for(lambda: _run(stack, LOGS, query), timeout=60, what=f"logs in VictoriaLogs for {query}")
    assert all(r["_msg"] for r in rows)
