"""Build the SDK providers of one process: OTLP exporters behind guarded wrappers, tuned batching."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.metrics import CallbackOptions, Observation
from opentelemetry.sdk._logs import LoggerProvider, LogRecordProcessor
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricReader, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from heron._internal.config import HeronConfig
from heron._internal.exceptions import HeronConfigWarning
from heron._internal.exporting import GuardedLogExporter, GuardedMetricExporter, GuardedSpanExporter
from heron._internal.scrub import Scrubber
from heron._internal.version import VERSION


@dataclass
class Pipeline:
    """The providers of one process and the wrappers that know what was exported or dropped."""

    tracer_provider: TracerProvider
    meter_provider: MeterProvider
    logger_provider: LoggerProvider
    span_exporter: GuardedSpanExporter
    log_exporter: GuardedLogExporter
    metric_exporter: GuardedMetricExporter | None
    span_processor: SpanProcessor
    log_processor: LogRecordProcessor
    extras: dict[str, Any] = field(default_factory=dict)

    def pending_spans(self) -> int:
        return _queue_length(self.span_processor)

    def pending_logs(self) -> int:
        return _queue_length(self.log_processor)


PipelineBuilder = Callable[[HeronConfig, Resource], Pipeline]


def _queue_length(processor: object) -> int:
    queue = getattr(getattr(processor, "_batch_processor", None), "_queue", None)
    return len(queue) if queue is not None else 0


def make_scrubber(config: HeronConfig) -> Scrubber | None:
    return Scrubber(config.scrub_patterns) if config.scrub else None


def _grpc_factories(config: HeronConfig) -> tuple[Callable[[], Any], Callable[[], Any], Callable[[], Any]] | None:
    try:
        from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter as GrpcLogs
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import (
            OTLPMetricExporter as GrpcMetrics,
        )
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
            OTLPSpanExporter as GrpcSpans,
        )
    except ImportError:
        warnings.warn(
            "heron: protocol='grpc' needs the gRPC exporter (pip install 'heron-sdk[grpc]'); using http/protobuf",
            HeronConfigWarning,
            stacklevel=5,
        )
        return None
    kwargs: dict[str, Any] = {"headers": config.headers, "timeout": config.export_timeout_s}
    if config.endpoint:
        kwargs["endpoint"] = config.endpoint
        kwargs["insecure"] = config.endpoint.startswith("http://")
    return (lambda: GrpcSpans(**kwargs), lambda: GrpcMetrics(**kwargs), lambda: GrpcLogs(**kwargs))


def _http_factories(config: HeronConfig) -> tuple[Callable[[], Any], Callable[[], Any], Callable[[], Any]]:
    def url(path: str) -> str | None:
        # None lets each exporter read OTEL_EXPORTER_OTLP_[SIGNAL_]ENDPOINT itself.
        return f"{config.endpoint}/v1/{path}" if config.endpoint else None

    common: dict[str, Any] = {"headers": config.headers, "timeout": config.export_timeout_s}
    return (
        lambda: OTLPSpanExporter(endpoint=url("traces"), **common),
        lambda: OTLPMetricExporter(endpoint=url("metrics"), **common),
        lambda: OTLPLogExporter(endpoint=url("logs"), **common),
    )


def build_otlp_pipeline(config: HeronConfig, resource: Resource) -> Pipeline:
    """Providers exporting OTLP over HTTP/protobuf (default) or gRPC."""
    factories = _grpc_factories(config) if config.protocol == "grpc" else None
    spans_factory, metrics_factory, logs_factory = factories or _http_factories(config)
    scrubber = make_scrubber(config)
    span_exporter = GuardedSpanExporter(spans_factory, scrubber)
    log_exporter = GuardedLogExporter(logs_factory, scrubber)
    metric_exporter = GuardedMetricExporter(metrics_factory, resource)
    batch = config.batch
    span_processor = BatchSpanProcessor(
        span_exporter,
        max_queue_size=batch.max_queue_size,
        schedule_delay_millis=batch.schedule_delay_ms,
        max_export_batch_size=min(batch.max_export_batch_size, batch.max_queue_size),
    )
    log_processor = BatchLogRecordProcessor(
        log_exporter,
        max_queue_size=batch.max_queue_size,
        schedule_delay_millis=batch.schedule_delay_ms,
        max_export_batch_size=min(batch.max_export_batch_size, batch.max_queue_size),
    )
    reader = PeriodicExportingMetricReader(
        metric_exporter, export_interval_millis=config.metric_export_interval_s * 1000.0
    )
    return assemble(resource, span_processor, log_processor, [reader], span_exporter, log_exporter, metric_exporter)


def _sdk_info(options: CallbackOptions) -> Iterable[Observation]:
    yield Observation(1, {"telemetry.distro.version": VERSION})


def assemble(
    resource: Resource,
    span_processor: SpanProcessor,
    log_processor: LogRecordProcessor,
    readers: list[MetricReader],
    span_exporter: GuardedSpanExporter,
    log_exporter: GuardedLogExporter,
    metric_exporter: GuardedMetricExporter | None,
) -> Pipeline:
    """Wire processors and readers into providers; Heron bounds shutdown itself, so no atexit from the SDK."""
    tracer_provider = TracerProvider(resource=resource, shutdown_on_exit=False)
    tracer_provider.add_span_processor(span_processor)
    logger_provider = LoggerProvider(resource=resource, shutdown_on_exit=False)
    logger_provider.add_log_record_processor(log_processor)
    meter_provider = MeterProvider(resource=resource, metric_readers=readers, shutdown_on_exit=False)
    # Always one point per collection: the SDK skips exporting a collection without any, which would also
    # drop Heron's pre-aggregated histograms. It doubles as a "which SDK version runs where" series.
    meter_provider.get_meter("heron", VERSION).create_observable_gauge(
        "heron.sdk.info",
        callbacks=[_sdk_info],
        description="Always 1; the Heron SDK version is in its attributes.",
    )
    return Pipeline(
        tracer_provider=tracer_provider,
        meter_provider=meter_provider,
        logger_provider=logger_provider,
        span_exporter=span_exporter,
        log_exporter=log_exporter,
        metric_exporter=metric_exporter,
        span_processor=span_processor,
        log_processor=log_processor,
    )
