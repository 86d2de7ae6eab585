"""The collector's own counters, read straight from its telemetry endpoint (Prometheus text format)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import httpx
from prometheus_client.parser import text_string_to_metric_families

from heron_stack.doctor.adapters import Probes

WATCHED = (
    "otelcol_receiver_accepted_metric_points_total",
    "otelcol_receiver_refused_metric_points_total",
    "otelcol_receiver_failed_metric_points_total",
    "otelcol_exporter_sent_metric_points_total",
    "otelcol_exporter_send_failed_metric_points_total",
    "otelcol_receiver_accepted_log_records_total",
    "otelcol_receiver_refused_log_records_total",
    "otelcol_exporter_sent_log_records_total",
    "otelcol_exporter_send_failed_log_records_total",
)
QUEUE = "otelcol_exporter_queue_size"
"""Reported per signal as `queue:metrics` and `queue:logs` (batches waiting in the exporter)."""


def parse(text: str) -> dict[str, float]:
    """Watched sample name -> sum over its label sets (absent counters are 0: they appear on first use)."""
    totals = dict.fromkeys([*WATCHED, "queue:metrics", "queue:logs"], 0.0)
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            name = f"queue:{sample.labels.get('data_type')}" if sample.name == QUEUE else sample.name
            if name in totals:
                totals[name] += sample.value
    return totals


def read(probes: Probes, telemetry_url: str) -> dict[str, float] | None:
    """The watched counters now, or None when the telemetry endpoint does not answer."""
    try:
        resp = probes.http.get(f"{telemetry_url}/metrics", timeout=probes.call_timeout)
    except httpx.HTTPError:
        return None
    if resp.status_code != 200:
        return None
    try:
        return parse(resp.text)
    except ValueError:
        return None


def delta(before: Mapping[str, float] | None, after: Mapping[str, float] | None) -> dict[str, float]:
    """How much each watched counter grew (the queue size is reported as its latest value)."""
    if before is None or after is None:
        return {}
    out = {name: after[name] - before[name] for name in WATCHED}
    out.update({name: after[name] for name in ("queue:metrics", "queue:logs")})
    return out


Readings = dict[str, dict[str, float] | None]
"""Collector name -> its watched counters, or None when its telemetry did not answer."""


def read_each(probes: Probes, telemetry_urls: Mapping[str, str]) -> Readings:
    """The watched counters of every collector (heron_stack.endpoints.collector_telemetry_urls)."""
    return {name: read(probes, url) for name, url in telemetry_urls.items()}


@dataclass(frozen=True)
class Growth:
    """How much the watched counters grew, summed over the collectors that answered both times."""

    counters: dict[str, float]
    silent: Sequence[str] = ()
    """Collectors whose telemetry did not answer before or after: their share is missing from `counters`."""


def delta_each(before: Readings, after: Readings) -> Growth:
    silent = [name for name in before if before[name] is None or after.get(name) is None]
    grown = [delta(before[name], after[name]) for name in before if name not in silent]
    if not grown:
        return Growth({}, silent)
    return Growth({key: sum(g[key] for g in grown) for key in grown[0]}, silent)
