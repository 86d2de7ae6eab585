"""OTLP export through the official OpenTelemetry exporters, fed with requests the agent encoded itself."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.sdk.metrics.export import MetricExportResult
from opentelemetry.sdk.resources import Resource

from otel_agent.config import ExportConfig
from otel_agent.encoding import SCHEMA_URL

if TYPE_CHECKING:
    from opentelemetry.sdk._logs import LoggerProvider


class MetricsExporter(Protocol):
    """Sends one encoded request; the agent keeps the cycles until this returns SUCCESS."""

    def export(self, request: ExportMetricsServiceRequest, timeout_millis: float = 10_000) -> MetricExportResult: ...

    def shutdown(self, timeout_millis: float = 30_000) -> None: ...


class _Adapter:
    """Gives an official exporter subclass the request-taking signature the agent uses."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def export(self, request: ExportMetricsServiceRequest, timeout_millis: float = 10_000) -> MetricExportResult:
        result: MetricExportResult = self._inner.export(request, timeout_millis=timeout_millis)
        return result

    def shutdown(self, timeout_millis: float = 30_000) -> None:
        self._inner.shutdown(timeout_millis=timeout_millis)


def make_resource(attributes: Mapping[str, str]) -> Resource:
    return Resource(dict(attributes), SCHEMA_URL)


# Imports inside the functions below are deliberate: gRPC alone costs ~15 MiB RSS, logs export is optional.


def make_exporter(config: ExportConfig) -> MetricsExporter:
    """The official OTLP exporter for the configured protocol; gRPC is imported only when chosen.

    The exporters take SDK MetricsData in their public API; the agent hands them the request it already
    encoded through the hook each one uses internally (pinned exporter version 1.45.2), which skips the
    SDK's generic encoder, the most expensive step of a cycle. Retries, gzip, headers and TLS stay theirs.
    """
    headers = dict(config.headers) or None
    if config.protocol == "grpc":
        from grpc import Compression as GrpcCompression  # type: ignore[import-untyped]
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter as GrpcExporter

        class GrpcRequestExporter(GrpcExporter):
            def _translate_data(self, data: Any) -> Any:
                return data if isinstance(data, ExportMetricsServiceRequest) else super()._translate_data(data)

            def _count_data(self, data: Any) -> int:
                if not isinstance(data, ExportMetricsServiceRequest):
                    return int(super()._count_data(data))
                return sum(
                    len(getattr(m, m.WhichOneof("data")).data_points)
                    for rm in data.resource_metrics
                    for sm in rm.scope_metrics
                    for m in sm.metrics
                )

        url = config.metrics_url()
        return _Adapter(
            GrpcRequestExporter(
                endpoint=url,
                insecure=url.startswith("http://"),
                headers=headers,
                timeout=config.timeout,
                compression=GrpcCompression.Gzip if config.compression == "gzip" else GrpcCompression.NoCompression,
            )
        )
    from opentelemetry.exporter.otlp.proto.http import Compression as HttpCompression
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter as HttpExporter

    class HttpRequestExporter(HttpExporter):
        def export(self, metrics_data: Any, timeout_millis: float | None = 10_000, **kwargs: Any) -> MetricExportResult:
            if isinstance(metrics_data, ExportMetricsServiceRequest):
                return self._export_batch(metrics_data)
            return super().export(metrics_data, timeout_millis, **kwargs)

    return _Adapter(
        HttpRequestExporter(
            endpoint=config.metrics_url(),
            headers=headers,
            timeout=config.timeout,
            compression=HttpCompression.Gzip if config.compression == "gzip" else HttpCompression.NoCompression,
        )
    )


def make_log_handler(config: ExportConfig, resource: Resource) -> tuple[logging.Handler, LoggerProvider] | None:
    """An OTLP logging handler for the agent's own logs, and its provider (to flush at exit)."""
    if not config.logs:
        return None
    from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
    from opentelemetry.sdk._logs.export import BatchLogRecordProcessor, LogRecordExporter

    headers = dict(config.headers) or None
    exporter: LogRecordExporter
    if config.protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc._log_exporter import (
            OTLPLogExporter as GrpcLogExporter,
        )

        url = config.endpoint or "http://localhost:4317"
        exporter = GrpcLogExporter(
            endpoint=url, insecure=url.startswith("http://"), headers=headers, timeout=config.timeout
        )
    else:
        from opentelemetry.exporter.otlp.proto.http._log_exporter import (
            OTLPLogExporter as HttpLogExporter,
        )

        exporter = HttpLogExporter(endpoint=config.logs_url(), headers=headers, timeout=config.timeout)
    provider = LoggerProvider(resource=resource)
    # The agent logs rarely; a 5 s batch delay keeps the idle process from waking every second.
    provider.add_log_record_processor(BatchLogRecordProcessor(exporter, schedule_delay_millis=5000))
    return LoggingHandler(level=logging.INFO, logger_provider=provider), provider
