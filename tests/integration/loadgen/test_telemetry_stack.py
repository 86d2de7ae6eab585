"""loadgen's metrics and events through the real collector into Prometheus and VictoriaLogs."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import logs_query, prom_query, wait_for
from tests.integration.loadgen.conftest import Server, stop_server

pytestmark = pytest.mark.integration


def test_action_metrics_and_events_reach_the_stack(stack: Any, make_server: Callable[..., Server]) -> None:
    service = f"loadgen-it-{uuid.uuid4().hex[:8]}"
    server = make_server(
        {
            "OTEL_EXPORTER_OTLP_ENDPOINT": stack.otlp_http_endpoint,
            "OTEL_SERVICE_NAME": service,
            "OTEL_METRIC_EXPORT_INTERVAL": "1000",
        }
    )
    with server.api() as api:
        assert (
            api.post(
                "/api/actions/cpu-stress", json={"target_percent": 30, "duration_seconds": 20, "cores": 1}
            ).status_code
            == 201
        )
        assert api.post("/api/actions/traffic", json={"requests_per_sec": 50, "duration_seconds": 3}).status_code == 201
        memory = {"size_mb": 16, "duration_seconds": 30, "steps": 1}
        assert api.post("/api/actions/memory-leak", json=memory).status_code == 201

    def series(query: str) -> list[dict[str, Any]]:
        return prom_query(stack.prometheus_url, query)

    target = wait_for(
        lambda: series(f'loadgen_cpu_target_ratio{{service_name="{service}"}}'), timeout=60, what="CPU target series"
    )
    assert float(target[0]["value"][1]) == pytest.approx(0.3)
    active = wait_for(
        lambda: series(f'loadgen_actions_active{{service_name="{service}",loadgen_action_type="cpu-stress"}} == 1'),
        timeout=30,
        what="active CPU action",
    )
    assert active
    ok = wait_for(
        lambda: series(f'loadgen_traffic_requests_total{{service_name="{service}",outcome="ok"}} > 0'),
        timeout=60,
        what="traffic counter",
    )
    assert ok
    latency = wait_for(
        lambda: series(f'http_client_request_duration_seconds_count{{service_name="{service}"}} > 0'),
        timeout=60,
        what="latency histogram",
    )
    assert latency
    held = wait_for(
        lambda: series(f'loadgen_memory_allocated_bytes{{service_name="{service}"}} >= 16 * 1024 * 1024'),
        timeout=60,
        what="allocated memory gauge",
    )
    assert held
    entries = wait_for(
        lambda: logs_query(stack.victorialogs_url, f'{{service.name="{service}"}} "cpu-stress started"'),
        timeout=60,
        what="event logs in VictoriaLogs",
    )
    assert all(entry["service.name"] == service for entry in entries)


def _messages(stack: Any, query: str) -> list[str]:
    return [entry["_msg"] for entry in logs_query(stack.victorialogs_url, query, since_s=600)]


def test_serve_is_instrumented_with_heron(stack: Any, make_server: Callable[..., Server]) -> None:
    run = uuid.uuid4().hex[:12]
    server = make_server(
        {
            "OTEL_EXPORTER_OTLP_ENDPOINT": stack.otlp_http_endpoint,
            "OTEL_METRIC_EXPORT_INTERVAL": "1000",
            "OTEL_RESOURCE_ATTRIBUTES": f"heron.test.run={run}",
        }
    )
    mine = f'service_name="heron-loadgen",heron_test_run="{run}"'
    trace_id = uuid.uuid4().hex
    with server.api() as api:
        cpu = {"target_percent": 20, "duration_seconds": 3, "cores": 1}
        traceparent = f"00-{trace_id}-{uuid.uuid4().hex[:16]}-01"
        assert api.post("/api/actions/cpu-stress", json=cpu, headers={"traceparent": traceparent}).status_code == 201
        traffic = {"requests_per_sec": 20, "duration_seconds": 2, "endpoints": ["/api/demo/ok"]}
        assert api.post("/api/actions/traffic", json=traffic).status_code == 201

    def series(query: str) -> list[dict[str, Any]]:
        return prom_query(stack.prometheus_url, query)

    # Server spans and the request histogram come from the SDK's Flask integration, for every route.
    def served_routes() -> set[str]:
        found = series(f"http_server_request_duration_seconds_count{{{mine}}} > 0")
        return {s["metric"].get("http_route", "") for s in found}

    expected = {"/api/actions/cpu-stress", "/api/demo/ok"}
    routes = wait_for(
        lambda: served_routes() >= expected or None, timeout=60, what="http.server.request.duration by route"
    )
    assert routes
    assert not series(f'http_server_request_duration_seconds_count{{{mine},http_route="/api/health"}}')
    # loadgen's own instruments ride the same exporters: every series the Load lab dashboard reads.
    for query in (
        f'loadgen_traffic_requests_total{{{mine},outcome="ok"}} > 0',
        f"http_client_request_duration_seconds_bucket{{{mine}}} > 0",
        f'loadgen_actions_active{{{mine},loadgen_action_type="cpu-stress"}}',
        f"loadgen_cpu_target_ratio{{{mine}}}",
        f"loadgen_memory_allocated_bytes{{{mine}}}",
    ):
        assert wait_for(partial(series, query), timeout=60, what=query)

    # The event logged while handling the request carries the caller's trace id.
    mine_logs = f'{{service.name="heron-loadgen"}} heron.test.run:="{run}"'
    traced = f'{mine_logs} trace_id:="{trace_id}"'
    lines = wait_for(lambda: _messages(stack, traced), timeout=60, what="traced event log in VictoriaLogs")
    assert any("cpu-stress started" in line for line in lines)
    python_logs = f'{mine_logs} "loadgen listening on"'
    assert wait_for(lambda: _messages(stack, python_logs), timeout=60, what="Python log in VictoriaLogs")

    # SIGTERM: the shutdown event is emitted after the actions stop and still reaches the store before exit.
    stop_server(server)
    assert server.proc.returncode == 0
    shutdown = f'{mine_logs} event.type:="loadgen_shutdown"'
    assert wait_for(lambda: _messages(stack, shutdown), timeout=60, what="shutdown event in VictoriaLogs")


def test_serve_without_the_sdk_warns_and_keeps_its_own_telemetry(
    stack: Any, make_server: Callable[..., Server], tmp_path: Path
) -> None:
    # A `heron` package that cannot be imported stands in for a host without heron-sdk.
    blocker = tmp_path / "no-sdk" / "heron"
    blocker.mkdir(parents=True)
    (blocker / "__init__.py").write_text("raise ImportError('heron-sdk is not installed here')\n")
    service = f"loadgen-nosdk-{uuid.uuid4().hex[:8]}"
    stderr = tmp_path / "stderr.log"
    server = make_server(
        {
            "PYTHONPATH": os.pathsep.join([str(blocker.parent), *filter(None, [os.environ.get("PYTHONPATH")])]),
            "OTEL_EXPORTER_OTLP_ENDPOINT": stack.otlp_http_endpoint,
            "OTEL_SERVICE_NAME": service,
            "OTEL_METRIC_EXPORT_INTERVAL": "1000",
        },
        disk_dir=tmp_path,
        stderr_path=stderr,
    )
    warnings = [line for line in stderr.read_text().splitlines() if "WARNING" in line]
    assert len(warnings) == 1
    assert "heron-sdk is not installed" in warnings[0]
    assert "pip install ./sdk" in warnings[0]
    with server.api() as api:
        assert api.post("/api/actions/traffic", json={"requests_per_sec": 20, "duration_seconds": 2}).status_code == 201
    assert wait_for(
        lambda: prom_query(stack.prometheus_url, f'loadgen_traffic_requests_total{{service_name="{service}"}} > 0'),
        timeout=60,
        what="loadgen's own traffic counter",
    )
    assert not prom_query(
        stack.prometheus_url, f'http_server_request_duration_seconds_count{{service_name="{service}"}}'
    )
