"""Self-metrics over OTLP: evaluations, evaluation duration, alerts by state, jobs queued.

Uses the OpenTelemetry API only; `setup()` installs the SDK exporter when
OTEL_EXPORTER_OTLP_ENDPOINT is set, otherwise the instruments are no-ops.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import TYPE_CHECKING

from opentelemetry import metrics
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.metrics import CallbackOptions, Observation
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource

from alert_worker import envvars as ev

if TYPE_CHECKING:
    from alert_worker.engine import Outcome

_meter = metrics.get_meter("heron.alert_worker")
_evaluations = _meter.create_counter(
    "heron.alerts.evaluations", unit="{evaluation}", description="Rule group evaluations"
)
_duration = _meter.create_histogram("heron.alerts.evaluation.duration", unit="s", description="Group evaluation time")
_jobs = _meter.create_counter("heron.alerts.jobs.queued", unit="{job}", description="Notification jobs enqueued")
_by_state: dict[tuple[str, str], int] = {}


def _observe(options: CallbackOptions) -> Iterable[Observation]:
    del options
    return [Observation(n, {"heron.group": g, "heron.alert.state": s}) for (g, s), n in _by_state.items()]


_meter.create_observable_gauge("heron.alerts.active", [_observe], unit="{alert}", description="Alerts by state")


def evaluation(outcome: Outcome, seconds: float) -> None:
    attrs = {"heron.group": outcome.group, "heron.evaluation.status": outcome.status}
    _evaluations.add(1, attrs)
    if outcome.status == "evaluated":
        _duration.record(seconds, {"heron.group": outcome.group})
        for state in ("pending", "firing", "inactive"):
            _by_state[(outcome.group, state)] = outcome.alerts_by_state.get(state, 0)


def jobs_queued(destination: str) -> None:
    _jobs.add(1, {"heron.destination": destination})


def setup() -> bool:
    """Export self-metrics over OTLP/HTTP when an endpoint is configured; returns whether it did."""
    if not os.environ.get(ev.OTEL_EXPORTER_OTLP_ENDPOINT):
        return False
    resource = Resource.create({"service.name": os.environ.get(ev.OTEL_SERVICE_NAME, "heron-alert-worker")})
    reader = PeriodicExportingMetricReader(OTLPMetricExporter(), export_interval_millis=15000)
    metrics.set_meter_provider(MeterProvider(resource=resource, metric_readers=[reader]))
    return True
