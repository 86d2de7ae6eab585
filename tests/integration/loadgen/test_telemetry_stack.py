"""loadgen's metrics and events through the real collector into Prometheus (and Loki when it runs)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from tests.helpers import loki_query, prom_query, wait_for
from tests.integration.loadgen.conftest import Server

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
    started_ns = time.time_ns()
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
    if stack.loki_url:
        streams = wait_for(
            lambda: loki_query(stack.loki_url, f'{{service_name="{service}"}}', started_ns, time.time_ns() + 10**9),
            timeout=60,
            what="event logs in Loki",
        )
        lines = [line for s in streams for _, line in s["values"]]
        assert any("cpu-stress started" in line for line in lines)
