"""Logs sent with the plain OpenTelemetry SDK are queryable in the real Loki with LogQL."""

from __future__ import annotations

import time
import uuid

import pytest
from opentelemetry import context
from opentelemetry._logs import SeverityNumber
from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter as GrpcLogExporter
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter as HttpLogExporter
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor, LogRecordExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider

from tests.fixtures.stack import StackHandle
from tests.helpers import loki_query, wait_for

pytestmark = pytest.mark.integration


def emit(exporter: LogRecordExporter, host: str, service: str, messages: list[str], *, in_span: bool = False) -> str:
    """Emit `messages` through the OpenTelemetry Logs API; returns the trace id used (or "")."""
    provider = LoggerProvider(resource=Resource.create({"host.name": host, "service.name": service}))
    provider.add_log_record_processor(BatchLogRecordProcessor(exporter))
    logger = provider.get_logger("heron.tests")
    trace_id = ""
    try:
        if in_span:
            tracer = TracerProvider().get_tracer("heron.tests")
            with tracer.start_as_current_span("checkout") as span:
                trace_id = format(span.get_span_context().trace_id, "032x")
                for message in messages:
                    logger.emit(
                        body=message,
                        severity_text="WARN",
                        severity_number=SeverityNumber.WARN,
                        context=context.get_current(),
                    )
        else:
            for message in messages:
                logger.emit(body=message, severity_text="INFO", severity_number=SeverityNumber.INFO)
        provider.force_flush()
    finally:
        provider.shutdown()
    return trace_id


def lines(stack: StackHandle, logql: str, since: float) -> list[tuple[dict[str, str], str]]:
    assert stack.loki_url is not None
    streams = loki_query(stack.loki_url, logql, int(since * 1e9), int((time.time() + 5) * 1e9))
    return [(s["stream"], value[1]) for s in streams for value in s["values"]]


@pytest.mark.parametrize("protocol", ["grpc", "http"])
def test_logs_are_returned_by_service_and_host_selectors(stack: StackHandle, protocol: str) -> None:
    host, service = f"loghost-{uuid.uuid4().hex[:8]}", f"logsvc-{protocol}"
    exporter: LogRecordExporter = (
        GrpcLogExporter(endpoint=stack.otlp_grpc_endpoint, insecure=True)
        if protocol == "grpc"
        else HttpLogExporter(endpoint=f"{stack.otlp_http_endpoint}/v1/logs")
    )
    since = time.time() - 5
    emit(exporter, host, service, ["order 1 placed", "order 2 placed", "payment failed for order 2"])

    found = wait_for(
        lambda: lines(stack, f'{{service_name="{service}", host_name="{host}"}}', since),
        timeout=60,
        what=f"logs of {service} on {host} in Loki",
    )
    assert sorted(text for _, text in found) == ["order 1 placed", "order 2 placed", "payment failed for order 2"]
    labels = found[0][0]
    assert labels["service_name"] == service
    assert labels["host_name"] == host

    failed = lines(stack, f'{{host_name="{host}"}} |= "failed"', since)
    assert [text for _, text in failed] == ["payment failed for order 2"]


def test_trace_ids_on_log_records_are_queryable(stack: StackHandle) -> None:
    host, service = f"tracehost-{uuid.uuid4().hex[:8]}", "logsvc-traces"
    since = time.time() - 5
    trace_id = emit(
        HttpLogExporter(endpoint=f"{stack.otlp_http_endpoint}/v1/logs"), host, service, ["card declined"], in_span=True
    )
    assert len(trace_id) == 32

    found = wait_for(
        lambda: lines(stack, f'{{service_name="{service}"}} | trace_id="{trace_id}"', since),
        timeout=60,
        what=f"the log line carrying trace id {trace_id}",
    )
    assert [text for _, text in found] == ["card declined"]
    assert found[0][0]["severity_text"] == "WARN"
