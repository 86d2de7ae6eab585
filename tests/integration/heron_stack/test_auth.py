"""With HERON_OTLP_TOKEN set, the collector refuses OTLP data without the right bearer token."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import httpx
import pytest
from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter as GrpcMetricExporter
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter as HttpMetricExporter
from opentelemetry.sdk.metrics.export import MetricExportResult

from tests.fixtures.stack import StackHandle, start_stack
from tests.helpers import prom_query, wait_for
from tests.integration.heron_stack.test_pipeline import send_counter

pytestmark = pytest.mark.integration

TOKEN = "s3cret-heron-token"


@pytest.fixture(scope="module")
def secured(stack: StackHandle, tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackHandle]:
    """A second collector that requires a token and writes into the shared Prometheus."""
    handle = start_stack(
        tmp_path_factory.mktemp("secured-collector"),
        env={"HERON_OTLP_TOKEN": TOKEN},
        ports={"prometheus": stack.config.port("prometheus"), "victorialogs": stack.config.port("victorialogs")},
        only=["collector"],
    )
    try:
        yield handle
    finally:
        handle.stack.down()


def test_right_token_is_accepted_over_grpc_and_http(secured: StackHandle, stack: StackHandle) -> None:
    host = f"auth-ok-{uuid.uuid4().hex[:8]}"
    headers = {"authorization": f"Bearer {TOKEN}"}
    grpc = GrpcMetricExporter(endpoint=secured.otlp_grpc_endpoint, insecure=True, headers=headers)
    http = HttpMetricExporter(endpoint=f"{secured.otlp_http_endpoint}/v1/metrics", headers=headers)

    for exporter, service in ((grpc, "auth-grpc"), (http, "auth-http")):
        results = send_counter(exporter, host, service).results
        assert results
        assert set(results) == {MetricExportResult.SUCCESS}
    series = wait_for(
        lambda: (
            (r := prom_query(stack.prometheus_url, f'heron_test_requests_total{{host_name="{host}"}}'))
            and len(r) == 2
            and r
        ),
        timeout=30,
        what="both authenticated counters in Prometheus",
    )
    assert {s["metric"]["service_name"] for s in series} == {"auth-grpc", "auth-http"}


@pytest.mark.parametrize("token", [None, "wrong-token"])
def test_missing_or_wrong_token_is_refused_and_nothing_is_ingested(
    secured: StackHandle, stack: StackHandle, token: str | None
) -> None:
    host = f"auth-bad-{uuid.uuid4().hex[:8]}"
    headers = {"authorization": f"Bearer {token}"} if token else {}
    http = HttpMetricExporter(endpoint=f"{secured.otlp_http_endpoint}/v1/metrics", headers=headers)
    grpc = GrpcMetricExporter(endpoint=secured.otlp_grpc_endpoint, insecure=True, headers=headers)

    for exporter in (http, grpc):
        results = send_counter(exporter, host, "auth-bad").results
        assert results
        assert set(results) == {MetricExportResult.FAILURE}
    raw = httpx.post(
        f"{secured.otlp_http_endpoint}/v1/metrics",
        content=b"",
        headers={"content-type": "application/x-protobuf", **headers},
    )
    assert raw.status_code == 401

    # A control sample sent with the right token after the refused ones proves the pipeline was flowing:
    # once it is visible, the refused data would have been too.
    good = HttpMetricExporter(
        endpoint=f"{secured.otlp_http_endpoint}/v1/metrics", headers={"authorization": f"Bearer {TOKEN}"}
    )
    control = f"{host}-control"
    send_counter(good, control, "auth-control")
    wait_for(
        lambda: prom_query(stack.prometheus_url, f'heron_test_requests_total{{host_name="{control}"}}'),
        timeout=30,
        what="the control sample",
    )
    assert prom_query(stack.prometheus_url, f'heron_test_requests_total{{host_name="{host}"}}', at=time.time()) == []
