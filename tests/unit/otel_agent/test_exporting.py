"""OTLP requests: instrument kinds, start times, original timestamps, gzip over the official HTTP exporter."""

from __future__ import annotations

import gzip
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.metrics.v1 import metrics_pb2 as pb

from otel_agent.config import resolve_config
from otel_agent.encoding import Encoder
from otel_agent.exporting import make_exporter
from otel_agent.models import Cycle, Point

RESOURCE = {"service.name": "otel-agent", "host.name": "h1"}


def _cycles() -> list[Cycle]:
    return [
        Cycle(
            t, 500, [Point("system.cpu.time", (("cpu.mode", "user"),), float(t)), Point("system.process.count", (), 3)]
        )
        for t in (1000, 2000)
    ]


def _metrics(request: ExportMetricsServiceRequest) -> dict[str, pb.Metric]:
    """Each metric of the request, its data points gathered over every ResourceMetrics (one per cycle)."""
    merged: dict[str, pb.Metric] = {}
    for rm in request.resource_metrics:
        for m in rm.scope_metrics[0].metrics:
            if m.name in merged:
                kind = m.WhichOneof("data")
                getattr(merged[m.name], kind).data_points.extend(getattr(m, kind).data_points)
            else:
                merged[m.name] = pb.Metric.FromString(m.SerializeToString())
    return merged


def test_points_of_several_cycles_keep_their_timestamps_and_kinds() -> None:
    request = Encoder(RESOURCE).encode(_cycles())
    metrics = _metrics(request)
    cpu = metrics["system.cpu.time"]
    assert cpu.WhichOneof("data") == "sum"
    assert cpu.sum.is_monotonic
    assert cpu.sum.aggregation_temporality == pb.AGGREGATION_TEMPORALITY_CUMULATIVE
    assert cpu.unit == "s"
    assert [(dp.start_time_unix_nano, dp.time_unix_nano, dp.as_double) for dp in cpu.sum.data_points] == [
        (500, 1000, 1000.0),
        (500, 2000, 2000.0),
    ]
    count = metrics["system.process.count"]
    assert count.WhichOneof("data") == "sum"
    assert not count.sum.is_monotonic
    assert count.sum.data_points[0].as_int == 3
    resource = {a.key: a.value.string_value for a in request.resource_metrics[0].resource.attributes}
    assert resource == RESOURCE


def test_gauges_and_point_start_time() -> None:
    cycle = Cycle(
        1000, 500, [Point("system.uptime", (), 9.5), Point("process.cpu.time", (("process.pid", 7),), 1.0, 42)]
    )
    metrics = _metrics(Encoder(RESOURCE).encode([cycle]))
    assert metrics["system.uptime"].WhichOneof("data") == "gauge"
    dp = metrics["process.cpu.time"].sum.data_points[0]
    assert dp.start_time_unix_nano == 42
    assert dp.attributes[0].value.int_value == 7


class _Collector(BaseHTTPRequestHandler):
    received: list[tuple[dict[str, str], bytes]] = []  # noqa: RUF012 - shared by the handler instances of one test

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((dict(self.headers), body))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.end_headers()
        self.wfile.write(b"")

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def fake_collector() -> Iterator[str]:
    _Collector.received = []
    server = HTTPServer(("127.0.0.1", 0), _Collector)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_http_exporter_sends_gzip_protobuf_with_headers(fake_collector: str) -> None:
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": fake_collector, "OTEL_EXPORTER_OTLP_HEADERS": "x-tenant=t1"}
    exporter = make_exporter(resolve_config({}, env).export)
    result = exporter.export(Encoder(RESOURCE).serialize(_cycles()))
    exporter.shutdown()
    assert result.name == "SUCCESS"
    headers, body = _Collector.received[0]
    assert headers["Content-Encoding"] == "gzip"
    assert headers["x-tenant"] == "t1"
    request = ExportMetricsServiceRequest.FromString(gzip.decompress(body))
    metric = _metrics(request)["system.cpu.time"]
    assert [dp.time_unix_nano for dp in metric.sum.data_points] == [1000, 2000]


def test_http_exporter_reports_failure_when_the_collector_is_gone() -> None:
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9", "OTEL_EXPORTER_OTLP_TIMEOUT": "300"}
    exporter = make_exporter(resolve_config({}, env).export)
    assert exporter.export(Encoder(RESOURCE).serialize(_cycles())).name == "FAILURE"
    exporter.shutdown()


def test_grpc_exporter_delivers_the_encoded_request() -> None:
    import grpc
    from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2_grpc as service
    from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceResponse

    received: list[ExportMetricsServiceRequest] = []

    class Collector(service.MetricsServiceServicer):
        def Export(self, request, context):
            received.append(request)
            return ExportMetricsServiceResponse()

    server = grpc.server(ThreadPoolExecutor(max_workers=2))
    service.add_MetricsServiceServicer_to_server(Collector(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        env = {"OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{port}", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}
        exporter = make_exporter(resolve_config({}, env).export)
        assert exporter.export(Encoder(RESOURCE).serialize(_cycles())).name == "SUCCESS"
        exporter.shutdown()
    finally:
        server.stop(0)
    assert [dp.time_unix_nano for dp in _metrics(received[0])["system.cpu.time"].sum.data_points] == [1000, 2000]
