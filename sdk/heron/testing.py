"""Test helpers: a pytest fixture that captures Heron's spans, metrics and logs in memory.

    def test_checkout(heron_telemetry, client):
        client.get("/checkout")
        assert [span.name for span in heron_telemetry.spans()] == ["GET /checkout"]

Installed as a pytest plugin by heron-sdk; nothing leaves the process.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from opentelemetry.sdk._logs import ReadableLogRecord
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from heron._internal import runtime
from heron._internal.aggregation import with_fast_histograms
from heron._internal.config import HeronConfig, InitArgs, resolve_config
from heron._internal.exporting import GuardedLogExporter, GuardedSpanExporter
from heron._internal.pipeline import Pipeline, assemble, make_scrubber

__all__ = ["CapturedTelemetry", "MetricPoint", "capture", "heron_telemetry"]


@dataclass(frozen=True)
class MetricPoint:
    """One data point, flattened: the instrument name, its attributes and its value (sum, count or gauge)."""

    name: str
    attributes: dict[str, Any]
    value: float
    unit: str
    data: Any


class CapturedTelemetry:
    """Everything Heron recorded since it was started, synchronously exported to memory."""

    def __init__(self, config: HeronConfig) -> None:
        self.config = config
        self._spans = InMemorySpanExporter()
        self._logs = InMemoryLogRecordExporter()  # type: ignore[no-untyped-call]  # unannotated __init__ upstream
        self._reader = InMemoryMetricReader()

    def build(self, config: HeronConfig, resource: Resource) -> Pipeline:
        scrubber = make_scrubber(config)
        span_exporter = GuardedSpanExporter(lambda: self._spans, scrubber)
        log_exporter = GuardedLogExporter(lambda: self._logs, scrubber)
        return assemble(
            resource,
            SimpleSpanProcessor(span_exporter),
            SimpleLogRecordProcessor(log_exporter),
            [self._reader],
            span_exporter,
            log_exporter,
            None,
        )

    def spans(self) -> list[ReadableSpan]:
        return list(self._spans.get_finished_spans())

    def span(self, name: str) -> ReadableSpan:
        """The one finished span called `name` (fails the test if there is not exactly one)."""
        found = [span for span in self.spans() if span.name == name]
        assert len(found) == 1, f"expected one span {name!r}, got {[span.name for span in self.spans()]}"
        return found[0]

    def logs(self) -> list[ReadableLogRecord]:
        return list(self._logs.get_finished_logs())

    def metrics(self, name: str | None = None) -> list[MetricPoint]:
        """Current data points (cumulative since start), optionally only those of instrument `name`."""
        data = with_fast_histograms(self._reader.get_metrics_data(), Resource({}))
        points: list[MetricPoint] = []
        for resource_metrics in data.resource_metrics if data else ():
            for scope in resource_metrics.scope_metrics:
                for metric in scope.metrics:
                    if name is not None and metric.name != name:
                        continue
                    points.extend(_points(metric))
        return points

    def clear(self) -> None:
        self._spans.clear()
        self._logs.clear()


def _points(metric: Any) -> list[MetricPoint]:
    result = []
    for point in metric.data.data_points:
        value = getattr(point, "value", None)
        if value is None:
            value = point.count
        result.append(MetricPoint(metric.name, dict(point.attributes or {}), float(value), metric.unit, point))
    return result


def capture(**init_kwargs: Any) -> CapturedTelemetry:
    """Start Heron with in-memory exporters (same arguments as `heron.init`); stop it with `heron.shutdown()`."""
    instrument = {
        name: init_kwargs.pop(f"instrument_{name}", None) for name in ("flask", "requests", "celery", "logging")
    }
    args = InitArgs(service_name=init_kwargs.pop("service_name", "heron-test"), instrument=instrument, **init_kwargs)
    captured = CapturedTelemetry(resolve_config(args))
    runtime.stop(0.5)
    runtime.start(captured.config, captured.build, testing=True)
    return captured


@pytest.fixture
def heron_telemetry() -> Iterator[CapturedTelemetry]:
    """Heron running with in-memory exporters for one test; `heron.init` calls inside the test change nothing."""
    captured = capture()
    try:
        yield captured
    finally:
        runtime.stop(0.5)
