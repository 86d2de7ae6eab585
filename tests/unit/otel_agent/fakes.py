"""Fakes for agent tests: an exporter that can be switched off, and a clock that advances per read."""

from __future__ import annotations

import threading

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest

from otel_agent.exporting import ExportResult


class FlakyExporter:
    """Records what it accepted; while `down` it fails like an unreachable collector."""

    def __init__(self) -> None:
        self.down = False
        self.accepted: list[ExportMetricsServiceRequest] = []
        self.attempts = 0
        self.lock = threading.Lock()

    def export(self, body: bytes, timeout_millis: float = 10_000) -> ExportResult:
        with self.lock:
            self.attempts += 1
            if self.down:
                return ExportResult.FAILURE
            self.accepted.append(ExportMetricsServiceRequest.FromString(body))
            return ExportResult.SUCCESS

    def shutdown(self, timeout_millis: float = 30_000) -> None:
        pass

    def points(self, name: str) -> list:
        """Every accepted data point of `name`, in delivery order."""
        out = []
        for data in self.accepted:
            for rm in data.resource_metrics:
                for sm in rm.scope_metrics:
                    for m in sm.metrics:
                        if m.name == name:
                            out += list(getattr(m, m.WhichOneof("data")).data_points)
        return out

    def timestamps(self, name: str) -> list[int]:
        return [dp.time_unix_nano for dp in self.points(name)]


class StepClock:
    def __init__(self, start: int = 1_700_000_000_000_000_000, step: int = 1_000_000_000) -> None:
        self.now = start
        self.step = step

    def __call__(self) -> int:
        self.now += self.step
        return self.now
