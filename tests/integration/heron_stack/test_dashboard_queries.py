"""Every panel query of every dashboard returns data from the real pipeline: "No data" fails the test.

The real agent reports this host at a 1 s interval through the real collector into Prometheus;
then each PromQL query runs with the dashboard's variables set to that host.
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from heron_stack.dashboards import render_all
from heron_stack.dashboards.checks import PanelQuery, queries, substitute
from tests.fixtures.stack import StackHandle, clean_env
from tests.helpers import prom_query, wait_for

pytestmark = pytest.mark.integration

HOST_DASHBOARDS = ("host-overview", "fleet")
PIPELINE_DASHBOARDS = ("pipeline-health",)


@pytest.fixture(scope="module")
def agent_host(stack: StackHandle) -> Iterator[str]:
    host = f"dash-{uuid.uuid4().hex[:8]}"
    env = clean_env({"OTEL_RESOURCE_ATTRIBUTES": f"host.name={host}"})
    argv = [sys.executable, "-m", "otel_agent", "run", "--endpoint", stack.otlp_http_endpoint, "--interval", "1"]
    log_path = stack.state_dir / f"agent-{host}.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for(
            lambda: prom_query(stack.prometheus_url, f'system_uptime_seconds{{host_name="{host}"}}'),
            timeout=60,
            what=f"the agent on {host} reporting",
        )
        yield host
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _send_a_trace(stack: StackHandle, host: str) -> None:
    """An app on the same host sends one span, so the trace panels have something to show."""
    provider = TracerProvider(resource=Resource.create({"host.name": host, "service.name": "dash-app"}))
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=f"{stack.otlp_http_endpoint}/v1/traces")))
    with provider.get_tracer("heron.tests").start_as_current_span("GET /checkout"):
        pass
    provider.shutdown()


def _cases(names: tuple[str, ...]) -> list[Any]:
    rendered = render_all()
    return [
        pytest.param(q, id=f"{q.dashboard_uid}:{q.panel_title}:{i}")
        for name in names
        for i, q in enumerate(queries(rendered[name]))
    ]


def _assert_returns_series(stack: StackHandle, query: PanelQuery, host: str) -> None:
    assert query.datasource_uid == "heron-prometheus"
    expr = substitute(query.expr, {"host": host})
    series = wait_for(
        lambda: prom_query(stack.prometheus_url, expr), timeout=60, what=f"data for panel {query.panel_title!r}: {expr}"
    )
    assert series


@pytest.mark.parametrize("query", _cases(HOST_DASHBOARDS))
def test_host_dashboard_panels_show_the_agent_data(stack: StackHandle, agent_host: str, query: PanelQuery) -> None:
    _assert_returns_series(stack, query, agent_host)


@pytest.mark.parametrize("query", _cases(PIPELINE_DASHBOARDS))
def test_pipeline_dashboard_panels_show_the_collector_telemetry(
    stack: StackHandle, agent_host: str, query: PanelQuery
) -> None:
    _assert_returns_series(stack, query, agent_host)


def test_host_variable_lists_the_reporting_host(stack: StackHandle, agent_host: str) -> None:
    host_dash = render_all()["host-overview"]
    (variable,) = [v for v in host_dash["templating"]["list"] if v["name"] == "host"]
    metric = variable["query"].removeprefix("label_values(").split(",")[0]
    values = {s["metric"]["host_name"] for s in prom_query(stack.prometheus_url, metric)}
    assert agent_host in values
