"""OpenTelemetry for loadgen: events as OTLP log records, action metrics, standard OTEL_* configuration.

`loadgen serve` records through the process-wide providers the Heron SDK installs (`Telemetry.shared`), so
one set of exporters carries loadgen's metrics and events next to its server spans and logs. Apps built
without the SDK (tests, a host without `heron-sdk`) get private provider instances, so tests can build many.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from opentelemetry import _logs, metrics
from opentelemetry._logs import SeverityNumber
from opentelemetry.metrics import CallbackOptions, Observation
from opentelemetry.sdk._logs import LoggerProvider, LogRecordProcessor
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricReader, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource

from loadgen.config import LoadgenConfig
from loadgen.events import Event

log = logging.getLogger(__name__)

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
_SEVERITY = {
    "info": SeverityNumber.INFO,
    "success": SeverityNumber.INFO2,
    "warning": SeverityNumber.WARN,
    "critical": SeverityNumber.ERROR,
}


@dataclass(frozen=True)
class ActionGauge:
    """What the engine reports about one running action for the observable gauges."""

    id: str
    kind: str
    cpu_target: float = 0.0
    cpu_achieved: float = 0.0
    allocated_bytes: float = 0.0


Snapshot = Callable[[], Sequence[ActionGauge]]


class Telemetry:
    """Metrics and event logs of one loadgen app. Implements the actions' `Recorder`.

    The constructor builds private providers (readers and processors injectable for tests); `shared` records
    through the global providers instead and leaves flushing them to their owner.
    """

    def __init__(
        self,
        service_name: str = "heron-loadgen",
        metric_readers: Sequence[MetricReader] = (),
        log_processors: Sequence[LogRecordProcessor] = (),
        trace_export: bool = False,
    ) -> None:
        resource = Resource.create({"service.name": service_name})
        meter_provider = MeterProvider(resource=resource, metric_readers=list(metric_readers))
        logger_provider = LoggerProvider(resource=resource)
        for processor in log_processors:
            logger_provider.add_log_record_processor(processor)
        self._owned: tuple[MeterProvider, LoggerProvider] | None = (meter_provider, logger_provider)
        self._setup(meter_provider, logger_provider, trace_export)

    @classmethod
    def shared(cls, trace_export: bool = True) -> Telemetry:
        """Record through the global meter and logger providers (installed by `heron.init`); never shut them."""
        telemetry = cls.__new__(cls)
        telemetry._owned = None
        telemetry._setup(metrics.get_meter_provider(), _logs.get_logger_provider(), trace_export)
        return telemetry

    def _setup(
        self, meter_provider: metrics.MeterProvider, logger_provider: _logs.LoggerProvider, trace_export: bool
    ) -> None:
        self.trace_export = trace_export
        self._logger = logger_provider.get_logger("loadgen.events")
        self._snapshot: Snapshot = lambda: ()
        meter = meter_provider.get_meter("loadgen")
        self._disk_ops = meter.create_counter("loadgen.disk.operations", unit="{operation}")
        self._disk_bytes = meter.create_counter("loadgen.disk.io", unit="By")
        self._requests = meter.create_counter("loadgen.traffic.requests", unit="{request}")
        self._latency = meter.create_histogram(
            "http.client.request.duration", unit="s", explicit_bucket_boundaries_advisory=LATENCY_BUCKETS
        )
        meter.create_observable_gauge("loadgen.actions.active", [self._active], unit="{action}")
        meter.create_observable_gauge("loadgen.cpu.target", [self._cpu_target], unit="1")
        meter.create_observable_gauge("loadgen.cpu.achieved", [self._cpu_achieved], unit="1")
        meter.create_observable_gauge("loadgen.memory.allocated", [self._allocated], unit="By")

    @classmethod
    def from_config(cls, config: LoadgenConfig) -> Telemetry:
        """Export over OTLP/HTTP when an OTEL_EXPORTER_OTLP_* endpoint is configured, else keep it in-process."""
        if not config.otlp_export:
            return cls(config.service_name)
        # Exporters load only when export is on: they pull in requests and protobuf.
        from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter

        reader = PeriodicExportingMetricReader(
            OTLPMetricExporter(), export_interval_millis=config.metric_export_interval_ms
        )
        processor = BatchLogRecordProcessor(OTLPLogExporter(), schedule_delay_millis=500)
        return cls(config.service_name, [reader], [processor], trace_export=True)

    def observe(self, snapshot: Snapshot) -> None:
        """Read running actions from `snapshot` at each metric collection."""
        self._snapshot = snapshot

    def on_event(self, event: Event) -> None:
        """Export one event as an OTLP log record (Grafana annotations read these from VictoriaLogs)."""
        try:
            attributes: dict[str, str | float | int | bool] = {
                "event.type": event.type,
                "event.severity": event.severity,
            }
            attributes.update({f"loadgen.{k}": v for k, v in event.attributes.items()})
            self._logger.emit(
                timestamp=int(event.timestamp.timestamp() * 1e9),
                severity_number=_SEVERITY[event.severity],
                severity_text=event.severity.upper(),
                body=event.message,
                attributes=attributes,
                event_name=f"loadgen.{event.type}",
            )
        except Exception:  # instrumentation must not break the load lab
            log.exception("could not export event %s", event.id)

    def disk_ops(self, operation: str, count: int, nbytes: int) -> None:
        """Count disk operations and bytes."""
        attrs = {"disk.io.direction": operation}
        self._disk_ops.add(count, attrs)
        self._disk_bytes.add(nbytes, attrs)

    def traffic(self, ok: int, failed: int, dropped: int, latencies: Sequence[float]) -> None:
        """Count traffic outcomes and record latencies."""
        for outcome, count in (("ok", ok), ("failed", failed), ("dropped", dropped)):
            if count:
                self._requests.add(count, {"outcome": outcome})
        for latency in latencies:
            self._latency.record(latency, {"http.request.method": "GET"})

    def shutdown(self, timeout_millis: int = 2000) -> None:
        """Flush and stop private exporters, bounded so a dead collector cannot hang shutdown.

        Shared providers are left alone: `heron.shutdown` flushes them after the last event.
        """
        self._snapshot = lambda: ()
        if self._owned is None:
            return
        meter_provider, logger_provider = self._owned
        meter_provider.shutdown(timeout_millis=timeout_millis)
        logger_provider.force_flush(timeout_millis)
        logger_provider.shutdown()

    def _active(self, _options: CallbackOptions) -> Iterable[Observation]:
        counts: dict[str, int] = {}
        for gauge in self._snapshot():
            counts[gauge.kind] = counts.get(gauge.kind, 0) + 1
        for kind in ("cpu-stress", "memory-leak", "disk-io", "traffic"):
            yield Observation(counts.get(kind, 0), {"loadgen.action.type": kind})

    def _cpu_target(self, _options: CallbackOptions) -> Iterable[Observation]:
        for g in self._snapshot():
            if g.kind == "cpu-stress":
                yield Observation(g.cpu_target / 100.0, {"loadgen.action.id": g.id})

    def _cpu_achieved(self, _options: CallbackOptions) -> Iterable[Observation]:
        for g in self._snapshot():
            if g.kind == "cpu-stress":
                yield Observation(g.cpu_achieved / 100.0, {"loadgen.action.id": g.id})

    def _allocated(self, _options: CallbackOptions) -> Iterable[Observation]:
        yield Observation(sum(g.allocated_bytes for g in self._snapshot()))
