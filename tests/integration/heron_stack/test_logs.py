"""Logs sent with the plain OpenTelemetry SDK land in the real VictoriaLogs and come back by LogsQL.

Stream fields are service.name, host.name and deployment.environment.name; trace ids and severity are
plain fields. While VictoriaLogs is down the collector keeps the logs and delivers them when it returns.
"""

from __future__ import annotations

import json
import socket
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest
from opentelemetry import context
from opentelemetry._logs import SeverityNumber
from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter as GrpcLogExporter
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter as HttpLogExporter
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor, LogRecordExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider

from heron_stack import cli
from tests.fixtures.stack import StackHandle, start_stack
from tests.helpers import DeadlineExceeded, logs_query, wait_for

pytestmark = pytest.mark.integration


def emit(
    exporter: LogRecordExporter,
    resource: dict[str, str],
    messages: list[str],
    *,
    in_span: bool = False,
) -> str:
    """Emit `messages` through the OpenTelemetry Logs API; returns the trace id used (or "")."""
    provider = LoggerProvider(resource=Resource.create(resource))
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


def http_exporter(stack: StackHandle) -> HttpLogExporter:
    return HttpLogExporter(endpoint=f"{stack.otlp_http_endpoint}/v1/logs")


@pytest.mark.parametrize("protocol", ["grpc", "http"])
def test_logs_are_found_by_their_stream_fields_and_by_words(stack: StackHandle, protocol: str) -> None:
    host, service = f"loghost-{uuid.uuid4().hex[:8]}", f"logsvc-{protocol}"
    exporter: LogRecordExporter = (
        GrpcLogExporter(endpoint=stack.otlp_grpc_endpoint, insecure=True)
        if protocol == "grpc"
        else http_exporter(stack)
    )
    resource = {"host.name": host, "service.name": service, "deployment.environment.name": "staging"}
    emit(exporter, resource, ["order 1 placed", "order 2 placed", "payment failed for order 2"])

    stream = f'{{service.name="{service}", host.name="{host}"}}'
    found = wait_for(
        lambda: (rows := logs_query(stack.victorialogs_url, stream)) and len(rows) == 3 and rows,
        timeout=60,
        what=f"3 log entries of {service} on {host} in VictoriaLogs",
    )
    assert sorted(row["_msg"] for row in found) == ["order 1 placed", "order 2 placed", "payment failed for order 2"]
    # One stream per service, host and environment; nothing else (no per-process id) splits it.
    assert {row["_stream"] for row in found} == {
        f'{{deployment.environment.name="staging",host.name="{host}",service.name="{service}"}}'
    }
    assert {row["severity_text"] for row in found} == {"INFO"}

    failed = logs_query(stack.victorialogs_url, f'{{host.name="{host}"}} failed')
    assert [row["_msg"] for row in failed] == ["payment failed for order 2"]


def test_trace_ids_on_log_records_are_queryable(stack: StackHandle) -> None:
    host, service = f"tracehost-{uuid.uuid4().hex[:8]}", "logsvc-traces"
    trace_id = emit(http_exporter(stack), {"host.name": host, "service.name": service}, ["card declined"], in_span=True)
    assert len(trace_id) == 32

    found = wait_for(
        lambda: logs_query(stack.victorialogs_url, f'trace_id:="{trace_id}"'),
        timeout=60,
        what=f"the log line carrying trace id {trace_id}",
    )
    assert [row["_msg"] for row in found] == ["card declined"]
    assert found[0]["severity_text"] == "WARN"
    assert found[0]["service.name"] == service


def test_heron_logs_prints_matching_entries_readably_and_as_json(
    stack: StackHandle, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    host = f"clihost-{uuid.uuid4().hex[:8]}"
    emit(http_exporter(stack), {"host.name": host, "service.name": "shop"}, ["cart saved", "checkout error: 502"])
    wait_for(
        lambda: len(logs_query(stack.victorialogs_url, f'{{host.name="{host}"}}')) == 2,
        timeout=60,
        what="both shop log entries",
    )
    monkeypatch.setenv("HERON_VICTORIALOGS_PORT", str(stack.config.port("victorialogs")))

    assert cli.main(["logs", f'{{host.name="{host}"}} error', "--since", "10m"]) == 0
    (line,) = capsys.readouterr().out.splitlines()
    assert f"shop@{host}  INFO  checkout error: 502" in line

    assert cli.main(["logs", f'{{host.name="{host}"}}', "--json", "--limit", "1"]) == 0
    (row,) = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert row["host.name"] == host
    assert row["_msg"] in {"cart saved", "checkout error: 502"}

    assert cli.main(["logs", "error | nonsense("]) == 2
    assert "the log store refused the query" in capsys.readouterr().err


@pytest.fixture(scope="module")
def own_pipeline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackHandle]:
    """A collector and VictoriaLogs of this module's own, so stopping the store disturbs no other test."""
    handle = start_stack(tmp_path_factory.mktemp("logs-outage"), only=["victorialogs", "collector"])
    try:
        yield handle
    finally:
        handle.stack.down()


OUTAGE_S = 60


def test_logs_sent_while_victorialogs_is_down_arrive_after_it_returns(own_pipeline: StackHandle) -> None:
    stack = own_pipeline
    host = f"outage-{uuid.uuid4().hex[:8]}"
    resource = {"host.name": host, "service.name": "outage-test"}
    emit(http_exporter(stack), resource, ["before the outage"])
    wait_for(lambda: logs_query(stack.victorialogs_url, f'{{host.name="{host}"}}'), timeout=60, what="first line")

    stack.stop_service("victorialogs")
    stopped = time.monotonic()
    sent = [f"during the outage {i}" for i in range(300)]
    for batch in range(0, len(sent), 50):  # spread over the outage, in separate exports
        emit(http_exporter(stack), resource, sent[batch : batch + 50])
    # Keep the store down for the whole outage: the collector must hold every batch until then.
    while time.monotonic() - stopped < OUTAGE_S:
        time.sleep(1)
    stack.start_service("victorialogs")

    expected = {"before the outage", *sent}

    def stored() -> set[str]:
        return {r["_msg"] for r in logs_query(stack.victorialogs_url, f'{{host.name="{host}"}}')}

    try:
        found = wait_for(
            lambda: (msgs := stored()) >= expected and msgs,
            timeout=120,
            what=f"all {len(expected)} log lines after VictoriaLogs returned",
        )
    except DeadlineExceeded:
        missing = sorted(expected - stored())
        counters = [
            line
            for line in httpx.get(f"{stack.collector_telemetry_url}/metrics", timeout=10).text.splitlines()
            if line.startswith(("otelcol_exporter_send_failed_log", "otelcol_exporter_queue_size", "otelcol_receiver_"))
            and "log" in line
        ]
        store_log = stack.stack.log_path("victorialogs").read_text(errors="replace").splitlines()[-15:]
        pytest.fail(
            f"{len(missing)} of {len(expected)} lines missing, e.g. {missing[:5]}; collector: {counters}; "
            f"VictoriaLogs' log ends: {store_log}"
        )
    assert found == expected
    counted = logs_query(stack.victorialogs_url, f'{{host.name="{host}"}}')
    assert len(counted) == len(expected), "a line arrived twice"


def test_logs_acknowledged_before_a_stop_survive_a_client_holding_a_request_open(own_pipeline: StackHandle) -> None:
    """VictoriaLogs gives up its clean shutdown when a request is still open after 7 s, and exits without saving
    what it holds in memory; Heron runs it with a 1 s flush interval, so what it acknowledged is on disk by then."""
    stack = own_pipeline
    host = f"held-{uuid.uuid4().hex[:8]}"
    emit(http_exporter(stack), {"host.name": host, "service.name": "held-test"}, ["acknowledged before the stop"])
    wait_for(lambda: logs_query(stack.victorialogs_url, f'{{host.name="{host}"}}'), timeout=60, what="the line")
    address = httpx.URL(stack.victorialogs_url)
    with socket.create_connection((address.host, address.port)) as held:
        # Half a request: the server waits for the rest of the body while it is asked to stop.
        held.sendall(b"POST /insert/jsonline HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
        stack.stop_service("victorialogs")
    stack.start_service("victorialogs")
    found = logs_query(stack.victorialogs_url, f'{{host.name="{host}"}}')
    store_log = stack.stack.log_path("victorialogs").read_text(errors="replace").splitlines()[-6:]
    assert [row["_msg"] for row in found] == ["acknowledged before the stop"], store_log
