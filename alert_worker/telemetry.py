"""Self-telemetry over OTLP: evaluations, evaluation duration and its stages, alerts by rule/severity/state,
jobs queued, and the worker's own logs (so VictoriaLogs shows them beside every other Heron part).

Uses the OpenTelemetry API only; `setup()` installs the SDK exporters when
OTEL_EXPORTER_OTLP_ENDPOINT is set, otherwise the instruments are no-ops.
"""

from __future__ import annotations

import atexit
import logging
import os
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from opentelemetry import metrics
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.metrics import CallbackOptions, Counter, Histogram, Meter, Observation
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource

from alert_worker import envvars as ev

if TYPE_CHECKING:
    from alert_worker.engine import Outcome

STAGE_DURATION = "heron.alerts.evaluation.stage.duration"


@dataclass(frozen=True)
class _Instruments:
    evaluations: Counter
    duration: Histogram
    stage: Histogram
    jobs: Counter


def instruments(meter: Meter) -> _Instruments:
    """The evaluation instruments on `meter` (the process's global meter unless a test binds its own)."""
    return _Instruments(
        evaluations=meter.create_counter(
            "heron.alerts.evaluations", unit="{evaluation}", description="Rule group evaluations"
        ),
        duration=meter.create_histogram(
            "heron.alerts.evaluation.duration", unit="s", description="Group evaluation time"
        ),
        stage=meter.create_histogram(
            STAGE_DURATION,
            unit="s",
            description="Time of one stage of a group evaluation (heron.stage: load, query, decode, prometheus,"
            " state, pipeline, save, enqueue)",
        ),
        jobs=meter.create_counter("heron.alerts.jobs.queued", unit="{job}", description="Notification jobs enqueued"),
    )


_meter = metrics.get_meter("heron.alert_worker")
_i = instruments(_meter)
_by_state: dict[tuple[str, str], int] = {}
_by_rule: dict[str, dict[tuple[str, str, str], int]] = {}
"""group -> (alertname, severity, state) -> pending/firing alerts, from the group's last evaluation."""


def _observe(options: CallbackOptions) -> Iterable[Observation]:
    del options
    return [Observation(n, {"heron.group": g, "heron.alert.state": s}) for (g, s), n in _by_state.items()]


def _observe_rules(options: CallbackOptions) -> Iterable[Observation]:
    del options
    return [
        Observation(n, {"heron.group": group, "alertname": rule, "severity": severity, "heron.alert.state": state})
        for group, counts in _by_rule.items()
        for (rule, severity, state), n in counts.items()
    ]


_meter.create_observable_gauge("heron.alerts.active", [_observe], unit="{alert}", description="Alerts by state")
_meter.create_observable_gauge(
    "heron.alerts.rule.active", [_observe_rules], unit="{alert}", description="Pending and firing alerts by rule"
)


def evaluation(outcome: Outcome, seconds: float) -> None:
    attrs = {"heron.group": outcome.group, "heron.evaluation.status": outcome.status}
    _i.evaluations.add(1, attrs)
    if outcome.status == "evaluated":
        _i.duration.record(seconds, {"heron.group": outcome.group})
        for stage, stage_seconds in outcome.stages.items():
            _i.stage.record(stage_seconds, {"heron.group": outcome.group, "heron.stage": stage})
        for state in ("pending", "firing", "inactive"):
            _by_state[(outcome.group, state)] = outcome.alerts_by_state.get(state, 0)
        _by_rule[outcome.group] = dict(outcome.alerts_by_rule)


def jobs_queued(destination: str) -> None:
    _i.jobs.add(1, {"heron.destination": destination})


def prime_destinations() -> None:
    """Zero-valued delivery series for every configured destination, exported at once (see delivery.metrics)."""
    try:
        from alert_worker.channels.config import resolve_destinations
        from alert_worker.delivery import metrics as delivery_metrics
    except ImportError:  # an evaluation-only worker has no delivery side
        return
    destinations = resolve_destinations().destinations
    for name in destinations:
        _i.jobs.add(0, {"heron.destination": name})
    delivery_metrics.prime((name, dest.type) for name, dest in destinations.items())
    flush()


def setup() -> bool:
    """Export self-metrics over OTLP/HTTP when an endpoint is configured; returns whether it did."""
    if not os.environ.get(ev.OTEL_EXPORTER_OTLP_ENDPOINT):
        return False
    # One identity per process: Celery's prefork children each report their own series.
    resource = Resource.create(
        {
            "service.name": os.environ.get(ev.OTEL_SERVICE_NAME, "heron-alert-worker"),
            "service.instance.id": str(uuid.uuid4()),
        }
    )
    reader = PeriodicExportingMetricReader(OTLPMetricExporter(), export_interval_millis=15000)
    provider = MeterProvider(resource=resource, metric_readers=[reader])
    metrics.set_meter_provider(provider)
    _flushers.append(provider.force_flush)
    _export_logs(resource)
    return True


_flushers: list[Callable[[], object]] = []


def flush() -> None:
    """Export what is pending now (Celery children exit without running atexit handlers)."""
    for flush_one in _flushers:
        flush_one()


def _export_logs(resource: Resource) -> None:
    """Send this process's INFO+ log records over OTLP too (the destination redaction filter still applies)."""
    from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
    from opentelemetry.instrumentation.logging.handler import LoggingHandler
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import BatchLogRecordProcessor

    provider = LoggerProvider(resource=resource)
    provider.add_log_record_processor(BatchLogRecordProcessor(OTLPLogExporter()))
    handler = LoggingHandler(level=logging.INFO, logger_provider=provider)
    handler.addFilter(_quiet_http_client)
    logging.getLogger().addHandler(handler)
    atexit.register(provider.shutdown)
    _flushers.append(provider.force_flush)


def _quiet_http_client(record: logging.LogRecord) -> bool:
    """Every PromQL query is logged by httpx at INFO; keep those out of the log store."""
    return not (record.name.startswith("httpx") and record.levelno < logging.WARNING)
