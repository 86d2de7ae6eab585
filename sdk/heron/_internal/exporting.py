"""Exporter wrappers: scrub secrets off the hot path, count what was sent or dropped, close at a deadline."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any

from opentelemetry.exporter.otlp.common._exporter_metrics import NoOpExporterMetrics
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk._logs import ReadableLogRecord
from opentelemetry.sdk._logs.export import LogRecordExporter, LogRecordExportResult
from opentelemetry.sdk.metrics.export import MetricExporter, MetricExportResult, MetricsData
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from heron._internal.aggregation import with_fast_histograms
from heron._internal.guard import internal_errors, report_internal_error
from heron._internal.scrub import Scrubber
from heron._internal.spanwire import SpanEncoder

_logger = logging.getLogger(__name__)


class ExportCounts:
    """Items handed to a wrapper: exported, dropped (failed or refused), and in flight right now."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.exported = 0
        self.dropped = 0
        self.in_flight = 0

    def begin(self, count: int) -> None:
        with self._lock:
            self.in_flight += count

    def end(self, count: int, ok: bool) -> None:
        with self._lock:
            self.in_flight -= count
            if ok:
                self.exported += count
            else:
                self.dropped += count

    def refuse(self, count: int) -> None:
        with self._lock:
            self.dropped += count


class _Guarded:
    """Shared lifecycle: an inner exporter built by a factory, closable at a deadline."""

    def __init__(self, factory: Callable[[], Any], scrubber: Scrubber | None) -> None:
        self.inner: Any = factory()
        self.scrubber = scrubber
        self.counts = ExportCounts()
        self.closed = False

    def close(self) -> None:
        """Refuse every later batch and interrupt the inner exporter's retries."""
        self.closed = True
        with internal_errors("exporter shutdown"):
            self.inner.shutdown()


class GuardedSpanExporter(_Guarded, SpanExporter):
    def __init__(self, factory: Callable[[], Any], scrubber: Scrubber | None) -> None:
        super().__init__(factory, scrubber)
        self._encoder = SpanEncoder(scrubber)

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        if self.closed:
            self.counts.refuse(len(spans))
            return SpanExportResult.FAILURE
        self.counts.begin(len(spans))
        result = SpanExportResult.FAILURE
        try:
            result = self._send(spans)
        except Exception as exc:
            report_internal_error("span export", exc)
        finally:
            self.counts.end(len(spans), result is SpanExportResult.SUCCESS)
        return result

    def shutdown(self) -> None:
        self.close()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True

    def _send(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        """Scrub and export. OTLP/HTTP goes through the exporter's own client, encoded and scrubbed by
        Heron's faster span encoder; any other exporter gets scrubbed copies."""
        inner = self.inner
        client = getattr(inner, "_client", None)
        # The exporter's self-metrics (OTEL_PYTHON_SDK_INTERNAL_METRICS_ENABLED) are recorded in its export().
        own_metrics = type(getattr(inner, "_metrics", None)) is not NoOpExporterMetrics
        if type(inner) is not OTLPSpanExporter or client is None or own_metrics:
            batch = [scrub_span(span, self.scrubber) for span in spans] if self.scrubber else spans
            result: SpanExportResult = inner.export(batch)
            return result
        if inner._shutdown:  # the exporter's own state, as its export() checks it
            return SpanExportResult.FAILURE
        data = self._encoder.encode(spans)
        limit = inner._max_request_size
        if limit > 0 and len(data) > limit:
            _logger.warning("Dropping span batch: %d bytes exceeds max_request_size %d bytes.", len(data), limit)
            return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS if client.export(data).success else SpanExportResult.FAILURE


class GuardedLogExporter(_Guarded, LogRecordExporter):
    def export(self, batch: Sequence[ReadableLogRecord]) -> LogRecordExportResult:
        if self.closed:
            self.counts.refuse(len(batch))
            return LogRecordExportResult.FAILURE
        self.counts.begin(len(batch))
        result = LogRecordExportResult.FAILURE
        try:
            if self.scrubber:
                for record in batch:
                    scrub_log(record, self.scrubber)
            result = self.inner.export(batch)
        except Exception as exc:
            report_internal_error("log export", exc)
        finally:
            self.counts.end(len(batch), result is LogRecordExportResult.SUCCESS)
        return result

    def shutdown(self) -> None:
        self.close()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


class GuardedMetricExporter(MetricExporter):
    """Counts failed metric exports; metric attributes are low-cardinality names and are not scrubbed."""

    def __init__(self, factory: Callable[[], MetricExporter], resource: Resource) -> None:
        self.inner = factory()
        self.resource = resource
        super().__init__(
            preferred_temporality=getattr(self.inner, "_preferred_temporality", None),
            preferred_aggregation=getattr(self.inner, "_preferred_aggregation", None),
        )
        self.counts = ExportCounts()
        self.closed = False

    def export(self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any) -> MetricExportResult:
        if self.closed:
            self.counts.refuse(1)
            return MetricExportResult.FAILURE
        data = with_fast_histograms(metrics_data, self.resource) or metrics_data
        if not data.resource_metrics:
            return MetricExportResult.SUCCESS  # nothing recorded yet: no empty request
        self.counts.begin(1)
        result = MetricExportResult.FAILURE
        try:
            result = self.inner.export(data, timeout_millis=timeout_millis)
        except Exception as exc:
            report_internal_error("metric export", exc)
        finally:
            self.counts.end(1, result is MetricExportResult.SUCCESS)
        return result

    def close(self) -> None:
        self.closed = True
        with internal_errors("exporter shutdown"):
            self.inner.shutdown(timeout_millis=0)

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return True

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        self.close()


def scrub_span(span: ReadableSpan, scrubber: Scrubber) -> ReadableSpan:
    """The span itself when clean, else a copy with secrets redacted."""
    # The span's own mapping: the public property wraps it in a proxy that iterates through the ABC.
    raw = span._attributes
    attributes = scrubber.attributes(getattr(raw, "_dict", raw))
    original_events = span.events
    events = [_scrub_event(event, scrubber) for event in original_events]
    if attributes is None and all(new is old for new, old in zip(events, original_events, strict=True)):
        return span
    return ReadableSpan(
        name=span.name,
        context=span.context,
        parent=span.parent,
        resource=span.resource,
        attributes=attributes if attributes is not None else span.attributes,
        events=events,
        links=span.links,
        kind=span.kind,
        status=span.status,
        start_time=span.start_time,
        end_time=span.end_time,
        instrumentation_scope=span.instrumentation_scope,
    )


def _scrub_event(event: Event, scrubber: Scrubber) -> Event:
    attributes = scrubber.attributes(event.attributes)
    if attributes is None:
        return event
    return Event(event.name, attributes, event.timestamp)


def scrub_log(record: ReadableLogRecord, scrubber: Scrubber) -> None:
    """Redact the record in place: it belongs to this export batch only."""
    log = record.log_record
    if isinstance(log.body, str):
        log.body = scrubber.text(log.body)
    attributes = scrubber.attributes(log.attributes)
    if attributes is not None:
        log.attributes = attributes
