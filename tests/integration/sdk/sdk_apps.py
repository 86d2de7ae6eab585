"""Apps for the SDK integration tests, run as real processes: two Flask services and a Celery worker.

Each process starts Heron against the real collector and also writes its spans and logs as JSON lines into
HERON_IT_DIR (one file per process, through a batch processor like the OTLP path), because the stack keeps
no traces to query back.

    python -m tests.integration.sdk.sdk_apps frontend|backend PORT
    python -m celery -A tests.integration.sdk.sdk_apps:celery worker ...
    gunicorn 'tests.integration.sdk.sdk_apps:backend_app()' --preload ...
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import requests
from celery import Celery
from flask import Flask
from opentelemetry.sdk._logs import ReadableLogRecord
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor, LogRecordExporter, LogRecordExportResult
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

from heron._internal import runtime
from heron._internal.config import HeronConfig, InitArgs, resolve_config
from heron._internal.pipeline import Pipeline, build_otlp_pipeline

log = logging.getLogger("heron.it")
log.setLevel(logging.INFO)


class _JsonLines:
    def __init__(self, path: Path) -> None:
        self.path = path

    def write(self, rows: list[dict]) -> None:
        with self.path.open("a") as handle:
            for row in rows:
                handle.write(json.dumps(row, default=str) + "\n")


class FileSpanExporter(SpanExporter):
    def __init__(self, path: Path) -> None:
        self._out = _JsonLines(path)

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self._out.write([_span_row(span) for span in spans])
        return SpanExportResult.SUCCESS


class FileLogExporter(LogRecordExporter):
    def __init__(self, path: Path) -> None:
        self._out = _JsonLines(path)

    def export(self, batch: Sequence[ReadableLogRecord]) -> LogRecordExportResult:
        self._out.write([_log_row(record) for record in batch])
        return LogRecordExportResult.SUCCESS

    def shutdown(self) -> None:
        return

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


def _span_row(span: ReadableSpan) -> dict:
    return {
        "name": span.name,
        "kind": span.kind.name,
        "trace_id": f"{span.context.trace_id:032x}",
        "span_id": f"{span.context.span_id:016x}",
        "parent_id": f"{span.parent.span_id:016x}" if span.parent else None,
        "attributes": dict(span.attributes or {}),
        "resource": dict(span.resource.attributes),
        "pid": os.getpid(),
    }


def _log_row(record: ReadableLogRecord) -> dict:
    log_record = record.log_record
    return {
        "body": log_record.body,
        "severity": log_record.severity_text,
        "trace_id": f"{log_record.trace_id:032x}" if log_record.trace_id else None,
        "span_id": f"{log_record.span_id:016x}" if log_record.span_id else None,
        "resource": dict(record.resource.attributes),
    }


def with_files(config: HeronConfig, resource: Resource) -> Pipeline:
    """The normal OTLP pipeline plus JSON-lines copies of spans and logs (rebuilt in every forked child)."""
    pipeline = build_otlp_pipeline(config, resource)
    out = Path(os.environ["HERON_IT_DIR"])
    delay = int(os.environ.get("HERON_IT_FILE_DELAY_MS", "200"))
    pid = os.getpid()
    pipeline.tracer_provider.add_span_processor(
        BatchSpanProcessor(FileSpanExporter(out / f"spans-{pid}.jsonl"), schedule_delay_millis=delay)
    )
    pipeline.logger_provider.add_log_record_processor(
        BatchLogRecordProcessor(FileLogExporter(out / f"logs-{pid}.jsonl"), schedule_delay_millis=delay)
    )
    return pipeline


def start_heron(service_name: str) -> None:
    config = resolve_config(InitArgs(service_name=service_name, metric_export_interval=1.0))
    runtime.start(config, with_files)
    instance = runtime.current().pipeline.tracer_provider.resource.attributes["service.instance.id"]
    (Path(os.environ["HERON_IT_DIR"]) / f"started-{os.getpid()}.json").write_text(
        json.dumps({"pid": os.getpid(), "instance": instance, "service": service_name})
    )


celery = Celery("heron_it", broker=os.environ.get("HERON_IT_BROKER", "memory://"))
celery.conf.task_default_queue = os.environ.get("HERON_IT_QUEUE", "heron-it")
celery.conf.broker_connection_retry_on_startup = True


@celery.task(name="heron_it.process_order")
def process_order(order_id: str) -> str:
    log.info("processing order %s", order_id)
    if order_id.startswith("fail"):
        raise ValueError(f"order {order_id} rejected")
    return order_id


def frontend_app() -> Flask:
    app = Flask("frontend")
    backend = os.environ.get("HERON_IT_BACKEND", "")

    @app.get("/checkout/<order_id>")
    def checkout(order_id: str) -> dict:
        price = requests.get(f"{backend}/price/{order_id}", timeout=10).json()
        process_order.delay(order_id)
        log.info("checkout done for %s", order_id)
        return {"order": order_id, "price": price["price"]}

    @app.get("/health")
    def health() -> str:
        return "ok"

    return app


def backend_app() -> Flask:
    app = Flask("backend")
    service = os.environ.get("HERON_IT_BACKEND_SERVICE")
    if service:
        start_heron(service)  # gunicorn --preload: this runs once, in the master, before the fork

    @app.get("/price/<order_id>")
    def price(order_id: str) -> dict:
        return {"order": order_id, "price": 42}

    @app.get("/slow/<int:millis>")
    def slow(millis: int) -> dict:
        time.sleep(millis / 1000)  # holds a sync worker so concurrent calls spread over all workers
        return {"pid": os.getpid()}

    return app


def probe(requests_count: int, timeout: float) -> dict:
    """Serve requests in-process with Heron exporting to the configured collector, then shut down."""
    import heron

    heron.init(service_name=os.environ["HERON_IT_PROBE_SERVICE"])
    client = backend_app().test_client()
    statuses = [client.get(f"/price/{index}").status_code for index in range(requests_count)]
    report = heron.shutdown(timeout=timeout)
    return {"statuses": statuses, "report": report.__dict__}


def main(argv: list[str] | None = None) -> int:
    role, port = (argv if argv is not None else sys.argv[1:])[:2]
    if role == "probe":
        print(json.dumps(probe(int(port), float(os.environ.get("HERON_IT_SHUTDOWN_TIMEOUT", "1.0")))))
        return 0
    if role == "frontend":
        start_heron(os.environ["HERON_IT_FRONTEND_SERVICE"])
        app = frontend_app()
    else:
        app = backend_app()
    from werkzeug.serving import make_server

    make_server("127.0.0.1", int(port), app, threaded=True).serve_forever()
    return 0


if os.environ.get("HERON_IT_WORKER_SERVICE") and "celery" in sys.argv[0]:
    start_heron(os.environ["HERON_IT_WORKER_SERVICE"])

if __name__ == "__main__":
    sys.exit(main())
