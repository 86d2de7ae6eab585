"""OTLP/HTTP over urllib3: retries, TLS verification, proxies and logs behave as with the official exporter."""

from __future__ import annotations

import gzip
import logging
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import trustme
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

from otel_agent.config import resolve_config
from otel_agent.encoding import Encoder
from otel_agent.exporting import ExportResult, make_exporter, make_log_handler, make_resource
from otel_agent.models import Cycle, Point

RESOURCE = {"service.name": "otel-agent", "host.name": "h1"}


class Collector(ThreadingHTTPServer):
    """Answers each POST with the next scripted status (then 200) and records path, headers and body."""

    def __init__(self, statuses: list[tuple[int, dict[str, str]]] | None = None) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.statuses = list(statuses or [])
        self.received: list[tuple[str, dict[str, str], bytes]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: Collector

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.received.append((self.path, {k.lower(): v for k, v in self.headers.items()}, body))
        status, headers = self.server.statuses.pop(0) if self.server.statuses else (200, {})
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


def _serve(server: Collector) -> Iterator[Collector]:
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def collector(request: pytest.FixtureRequest) -> Iterator[Collector]:
    yield from _serve(Collector(getattr(request, "param", None)))


def _request() -> bytes:
    return Encoder(RESOURCE).serialize([Cycle(1000, 500, [Point("system.uptime", (), 9.5)])])


@pytest.mark.parametrize("collector", [[(503, {"Retry-After": "0"}), (429, {"Retry-After": "0"})]], indirect=True)
def test_transient_statuses_are_retried_within_one_export(collector: Collector) -> None:
    exporter = make_exporter(resolve_config({}, {"OTEL_EXPORTER_OTLP_ENDPOINT": collector.url}).export)
    assert exporter.export(_request()) is ExportResult.SUCCESS
    exporter.shutdown()
    assert len(collector.received) == 3
    assert {body for _, _, body in collector.received} == {collector.received[0][2]}  # the same payload each time


@pytest.mark.parametrize("collector", [[(400, {})]], indirect=True)
def test_permanent_errors_are_not_retried(collector: Collector) -> None:
    exporter = make_exporter(resolve_config({}, {"OTEL_EXPORTER_OTLP_ENDPOINT": collector.url}).export)
    assert exporter.export(_request()) is ExportResult.FAILURE
    exporter.shutdown()
    assert len(collector.received) == 1


def test_otlp_headers_and_uncompressed_mode(collector: Collector) -> None:
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": collector.url, "OTEL_EXPORTER_OTLP_COMPRESSION": "none"}
    exporter = make_exporter(resolve_config({}, env).export)
    exporter.export(_request())
    exporter.shutdown()
    path, headers, body = collector.received[0]
    assert path == "/v1/metrics"
    assert headers["content-type"] == "application/x-protobuf"
    assert headers["user-agent"].startswith("OTel-OTLP-Exporter-Python/")
    assert "content-encoding" not in headers
    assert body == _request()


def test_standard_proxy_variables_are_honoured(collector: Collector, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", collector.url)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector.invalid:4318"}
    exporter = make_exporter(resolve_config({}, env).export)
    assert exporter.export(_request()) is ExportResult.SUCCESS
    exporter.shutdown()
    assert collector.received[0][0] == "http://collector.invalid:4318/v1/metrics"  # absolute URI: a proxy request


# The SDK's LoggingHandler is deprecated in favour of opentelemetry-instrumentation-logging's; same wire format.
@pytest.mark.filterwarnings("ignore:`LoggingHandler` in `opentelemetry-sdk` is deprecated:DeprecationWarning")
def test_agent_logs_go_to_v1_logs(collector: Collector) -> None:
    config = resolve_config({}, {"OTEL_EXPORTER_OTLP_ENDPOINT": collector.url})
    made = make_log_handler(config.export, make_resource(RESOURCE))
    assert made is not None
    handler, provider = made
    logger = logging.getLogger("otel_agent.test_logs")
    logger.addHandler(handler)
    try:
        logger.warning("export to collector failed")
    finally:
        logger.removeHandler(handler)
        provider.shutdown()
    path, _, body = collector.received[0]
    assert path == "/v1/logs"
    records = ExportLogsServiceRequest.FromString(body).resource_logs[0].scope_logs[0].log_records
    assert records[0].body.string_value == "export to collector failed"


@pytest.fixture
def tls_collector(tmp_path: Path) -> Iterator[tuple[Collector, Path]]:
    ca = trustme.CA()
    cert = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(cert))
    server = Collector()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    for s in _serve(server):
        yield s, cert


def test_tls_verifies_against_the_configured_ca(tls_collector: tuple[Collector, Path]) -> None:
    server, cert = tls_collector
    url = f"https://127.0.0.1:{server.server_address[1]}"
    untrusted = make_exporter(
        resolve_config({}, {"OTEL_EXPORTER_OTLP_ENDPOINT": url, "OTEL_EXPORTER_OTLP_TIMEOUT": "500"}).export
    )
    assert untrusted.export(_request()) is ExportResult.FAILURE
    untrusted.shutdown()
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": url, "OTEL_EXPORTER_OTLP_CERTIFICATE": str(cert)}
    trusted = make_exporter(resolve_config({}, env).export)
    assert trusted.export(_request()) is ExportResult.SUCCESS
    trusted.shutdown()
    assert len(server.received) == 1
    assert gzip.decompress(server.received[0][2]) == _request()


def test_running_agent_loads_neither_requests_nor_pydantic_nor_the_metrics_sdk() -> None:
    """Each of these costs megabytes of resident memory the agent does not need (docs/benchmarks)."""
    code = (
        "import sys\n"
        "from otel_agent.cli import main\n"
        "from otel_agent.config import resolve_config\n"
        "from otel_agent.exporting import make_exporter, make_log_handler, make_resource\n"
        "c = resolve_config({}, {})\n"
        "make_exporter(c.export); make_log_handler(c.export, make_resource({}))\n"
        "print(sorted(m for m in ('requests', 'pydantic', 'opentelemetry.sdk.metrics', 'grpc') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60).stdout
    assert out.strip() == "[]"
