"""Events become OTLP log records; engine state becomes metrics (in-memory exporters)."""

from __future__ import annotations

from typing import Any

from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from loadgen.events import EventLog
from loadgen.telemetry import ActionGauge, Telemetry


def _points(reader: InMemoryMetricReader) -> dict[str, list[Any]]:
    data = reader.get_metrics_data()
    out: dict[str, list[Any]] = {}
    assert data is not None
    for rm in data.resource_metrics:
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                out[metric.name] = list(metric.data.data_points)
    return out


def test_events_are_exported_as_log_records() -> None:
    exporter = InMemoryLogRecordExporter()
    telemetry = Telemetry("lg-test", log_processors=[SimpleLogRecordProcessor(exporter)])
    log = EventLog()
    log.subscribe(telemetry.on_event)
    log.emit("action_started", "cpu-stress started", "info", action_id="cpu-stress-1")
    records = exporter.get_finished_logs()
    assert len(records) == 1
    record = records[0].log_record
    assert record.body == "cpu-stress started"
    assert record.attributes is not None
    assert record.attributes["event.type"] == "action_started"
    assert record.attributes["loadgen.action_id"] == "cpu-stress-1"
    assert records[0].resource.attributes["service.name"] == "lg-test"


def test_metrics_follow_the_engine_and_recorders() -> None:
    reader = InMemoryMetricReader()
    telemetry = Telemetry("lg-test", metric_readers=[reader])
    telemetry.observe(
        lambda: [
            ActionGauge("cpu-1", "cpu-stress", cpu_target=90.0, cpu_achieved=88.5),
            ActionGauge("mem-1", "memory-leak", allocated_bytes=1024.0),
        ]
    )
    telemetry.traffic(ok=9, failed=1, dropped=2, latencies=[0.002] * 10)
    telemetry.disk_ops("write", 3, 3 * 4096)
    points = _points(reader)
    active = {p.attributes["loadgen.action.type"]: p.value for p in points["loadgen.actions.active"]}
    assert active == {"cpu-stress": 1, "memory-leak": 1, "disk-io": 0, "traffic": 0}
    assert points["loadgen.cpu.target"][0].value == 0.9
    assert points["loadgen.cpu.achieved"][0].value == 0.885
    assert points["loadgen.memory.allocated"][0].value == 1024.0
    requests = {p.attributes["outcome"]: p.value for p in points["loadgen.traffic.requests"]}
    assert requests == {"ok": 9, "failed": 1, "dropped": 2}
    assert points["http.client.request.duration"][0].count == 10
    assert points["loadgen.disk.io"][0].value == 3 * 4096
    telemetry.shutdown()


def test_a_broken_exporter_never_breaks_the_event_log() -> None:
    class Broken(SimpleLogRecordProcessor):
        def on_emit(self, log_record: Any) -> None:
            raise RuntimeError("collector exploded")

    telemetry = Telemetry(log_processors=[Broken(InMemoryLogRecordExporter())])
    log = EventLog()
    log.subscribe(telemetry.on_event)
    event = log.emit("action_started", "still logged")
    assert log.since(0) == [event]
