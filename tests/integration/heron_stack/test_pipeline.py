"""OTLP data sent with the plain OpenTelemetry SDK reaches Prometheus through the real collector."""

from __future__ import annotations

import uuid

import pytest
from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter as GrpcMetricExporter
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter as HttpMetricExporter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricExporter, MetricExportResult, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource

from tests.fixtures.stack import StackHandle
from tests.helpers import prom_query, wait_for

pytestmark = pytest.mark.integration


class RecordingExporter(MetricExporter):
    """Wraps a real OTLP exporter and remembers every export result."""

    def __init__(self, inner: MetricExporter) -> None:
        super().__init__(preferred_temporality=inner._preferred_temporality)
        self.inner = inner
        self.results: list[MetricExportResult] = []

    def export(self, metrics_data, timeout_millis: float = 10_000, **kwargs):
        result = self.inner.export(metrics_data, timeout_millis=timeout_millis, **kwargs)
        self.results.append(result)
        return result

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return self.inner.force_flush(timeout_millis)

    def shutdown(self, timeout_millis: float = 30_000, **kwargs) -> None:
        self.inner.shutdown(timeout_millis=timeout_millis, **kwargs)


def send_counter(exporter: MetricExporter, host: str, service: str, value: int = 7) -> RecordingExporter:
    recording = RecordingExporter(exporter)
    reader = PeriodicExportingMetricReader(recording, export_interval_millis=3_600_000)
    resource = Resource.create({"host.name": host, "service.name": service})
    provider = MeterProvider(resource=resource, metric_readers=[reader])
    provider.get_meter("heron.tests").create_counter("heron.test.requests", unit="{request}").add(value)
    provider.force_flush()
    provider.shutdown()
    return recording


@pytest.fixture
def host() -> str:
    return f"itest-{uuid.uuid4().hex[:10]}"


@pytest.mark.parametrize("protocol", ["grpc", "http"])
def test_otlp_metrics_become_queryable_in_prometheus_with_host_and_service_labels(
    stack: StackHandle, host: str, protocol: str
) -> None:
    if protocol == "grpc":
        exporter: MetricExporter = GrpcMetricExporter(endpoint=stack.otlp_grpc_endpoint, insecure=True)
    else:
        exporter = HttpMetricExporter(endpoint=f"{stack.otlp_http_endpoint}/v1/metrics")

    recording = send_counter(exporter, host, f"svc-{protocol}")

    assert recording.results
    assert set(recording.results) == {MetricExportResult.SUCCESS}
    series = wait_for(
        lambda: prom_query(stack.prometheus_url, f'heron_test_requests_total{{host_name="{host}"}}'),
        timeout=30,
        what=f"the counter from {host} in Prometheus",
    )
    assert len(series) == 1
    labels = series[0]["metric"]
    assert labels["service_name"] == f"svc-{protocol}"
    assert labels["job"] == f"svc-{protocol}"
    assert float(series[0]["value"][1]) == 7


def test_collector_own_metrics_are_scraped_by_prometheus(stack: StackHandle) -> None:
    up = wait_for(
        lambda: [s for s in prom_query(stack.prometheus_url, 'up{job="otel-collector"}') if s["value"][1] == "1"],
        timeout=45,
        what="the collector's telemetry target up in Prometheus",
    )
    assert up
    accepted = wait_for(
        lambda: prom_query(stack.prometheus_url, "otelcol_receiver_accepted_metric_points_total"),
        timeout=45,
        what="otelcol_receiver_accepted_metric_points_total",
    )
    assert {s["metric"]["receiver"] for s in accepted} == {"otlp"}
