"""OTLP export through the official OpenTelemetry exporter code, fed with requests the agent encoded itself.

OTLP/HTTP goes through the official exporter's HTTP client (retries with jittered backoff, Retry-After,
gzip, OTLP headers) over its urllib3 transport: the default requests transport and the SDK's metrics
machinery would add ~7 MiB of resident memory for nothing the agent uses. gRPC keeps the official gRPC
exporter and is imported only when chosen (gRPC alone costs ~15 MiB).
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest

from otel_agent.config import ExportConfig
from otel_agent.encoding import SCHEMA_URL

if TYPE_CHECKING:
    from opentelemetry.exporter.http.transport._base import BaseHTTPTransport
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk.resources import Resource


class ExportResult(enum.Enum):
    SUCCESS = "success"
    FAILURE = "failure"


class MetricsExporter(Protocol):
    """Sends one serialized ExportMetricsServiceRequest; the agent keeps the cycles until this returns SUCCESS."""

    def export(self, body: bytes, timeout_millis: float = 10_000) -> ExportResult: ...

    def shutdown(self, timeout_millis: float = 30_000) -> None: ...


class HttpMetricsExporter:
    """OTLP/HTTP protobuf through the official exporter's HTTP client and urllib3 transport."""

    def __init__(self, config: ExportConfig, transport: BaseHTTPTransport | None = None) -> None:
        from opentelemetry.exporter.otlp.common.http import Compression, _OTLPHTTPClient
        from opentelemetry.exporter.otlp.proto.http import _OTLP_HTTP_HEADERS

        headers = {k.lower(): v for k, v in {**_OTLP_HTTP_HEADERS, **config.headers}.items()}
        self._client = _OTLPHTTPClient(
            transport=transport or http_transport(config),
            endpoint=config.metrics_url(),
            kind="metrics",
            timeout=config.timeout,
            compression=Compression.GZIP if config.compression == "gzip" else Compression.NONE,
            headers=headers,
            logger=logging.getLogger("opentelemetry.exporter.otlp.proto.http.metric_exporter"),
        )

    def export(self, body: bytes, timeout_millis: float = 10_000) -> ExportResult:
        """Send once, retrying transient failures within the configured timeout (as the official exporter)."""
        ok = self._client.export(body).success
        return ExportResult.SUCCESS if ok else ExportResult.FAILURE

    def shutdown(self, timeout_millis: float = 30_000) -> None:
        self._client.shutdown()


def http_transport(config: ExportConfig) -> BaseHTTPTransport:
    """The official urllib3 transport with the configured TLS files and the standard proxy variables."""
    from opentelemetry.exporter.http.transport._urllib3 import Urllib3HTTPTransport

    cert: str | tuple[str, str] | None = config.client_certificate
    if config.client_certificate and config.client_key:
        cert = (config.client_certificate, config.client_key)
    transport = Urllib3HTTPTransport(verify=config.certificate or True, cert=cert)
    proxy = proxy_for(config.metrics_url())
    if proxy is not None:  # HTTP(S)_PROXY / NO_PROXY are honoured, as the requests transport did
        import urllib3

        pool = transport._pool
        transport._pool = urllib3.ProxyManager(proxy, **pool.connection_pool_kw)
    return transport


def proxy_for(url: str) -> str | None:
    """The proxy the standard environment variables choose for `url`, if any."""
    import urllib.request  # with the transport: not loaded when exporting over gRPC

    host = urlsplit(url).hostname or ""
    if urllib.request.proxy_bypass(host):
        return None
    return urllib.request.getproxies().get(urlsplit(url).scheme)


class _GrpcAdapter:
    """Gives an official gRPC exporter subclass the request-taking signature the agent uses."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def export(self, body: bytes, timeout_millis: float = 10_000) -> ExportResult:
        # gRPC's stub serializes a message itself, so the bytes become a message again here.
        result = self._inner.export(ExportMetricsServiceRequest.FromString(body), timeout_millis=timeout_millis)
        return ExportResult.SUCCESS if result.name == "SUCCESS" else ExportResult.FAILURE

    def shutdown(self, timeout_millis: float = 30_000) -> None:
        self._inner.shutdown(timeout_millis=timeout_millis)


def make_resource(attributes: Mapping[str, str]) -> Resource:
    from opentelemetry.sdk.resources import Resource

    return Resource(dict(attributes), SCHEMA_URL)


def _read(path: str | None) -> bytes | None:
    return Path(path).read_bytes() if path else None


def make_exporter(config: ExportConfig) -> MetricsExporter:
    """The exporter for the configured protocol.

    The official gRPC exporter takes SDK MetricsData in its public API; the agent hands it the request it
    already encoded through the hook it uses internally (pinned exporter version 1.45.2), which skips the
    SDK's generic encoder, the most expensive step of a cycle. Retries, gzip, headers and TLS stay its own.
    """
    if config.protocol != "grpc":
        return HttpMetricsExporter(config)
    import grpc  # type: ignore[import-untyped]  # grpcio ships no type hints
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
    credentials = None
    if config.certificate or config.client_certificate:
        credentials = grpc.ssl_channel_credentials(
            _read(config.certificate), _read(config.client_key), _read(config.client_certificate)
        )
    return _GrpcAdapter(
        GrpcRequestExporter(
            endpoint=url,
            insecure=url.startswith("http://"),
            credentials=credentials,
            headers=dict(config.headers) or None,
            timeout=config.timeout,
            compression=grpc.Compression.Gzip if config.compression == "gzip" else grpc.Compression.NoCompression,
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

        exporter = HttpLogExporter(
            endpoint=config.logs_url(), headers=headers, timeout=config.timeout, _transport=http_transport(config)
        )
    provider = LoggerProvider(resource=resource)
    # The agent logs rarely; a 5 s batch delay keeps the idle process from waking every second.
    provider.add_log_record_processor(BatchLogRecordProcessor(exporter, schedule_delay_millis=5000))
    return LoggingHandler(level=logging.INFO, logger_provider=provider), provider
