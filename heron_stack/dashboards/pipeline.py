"""Pipeline health: what the collector accepted, refused, dropped and queued."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard

from heron_stack.dashboards._panels import Q, base, single, thresholds, ts

RATE = "$__rate_interval"
RED_ABOVE_ZERO = thresholds((None, "green"), (0.001, "red"))


def _rate(metric: str, by: str = "") -> str:
    grouping = f" by ({by})" if by else ""
    return f"sum{grouping} (rate({metric}[{RATE}]))"


def build() -> dashboard.Dashboard:
    return (
        base(
            "Pipeline health",
            "heron-pipeline",
            "The collector's own telemetry: is data flowing, and where is it lost?",
            ["pipeline"],
        )
        .with_panel(
            single(
                "Collector up",
                "1 when Prometheus can scrape the collector's telemetry.",
                "short",
                Q('max(up{job="otel-collector"})'),
                steps=thresholds((None, "red"), (1, "green")),
                width=6,
            )
        )
        .with_panel(
            single(
                "Metric points accepted /s",
                "Points the OTLP receiver accepted.",
                "short",
                Q(_rate("otelcol_receiver_accepted_metric_points_total")),
                width=6,
            )
        )
        .with_panel(
            single(
                "Refused /s",
                "Points and records the receiver refused (bad token, memory limit).",
                "short",
                Q(
                    f"({_rate('otelcol_receiver_refused_metric_points_total')} "
                    f"+ {_rate('otelcol_receiver_refused_log_records_total')}) or vector(0)"
                ),
                steps=RED_ABOVE_ZERO,
                width=6,
            )
        )
        .with_panel(
            single(
                "Failed sends /s",
                "Points and records exporters gave up on.",
                "short",
                Q(
                    f"({_rate('otelcol_exporter_send_failed_metric_points_total')} "
                    f"+ {_rate('otelcol_exporter_send_failed_log_records_total')}) or vector(0)"
                ),
                steps=RED_ABOVE_ZERO,
                width=6,
            )
        )
        .with_panel(
            ts(
                "Accepted by receiver",
                "Metric points, log records and spans accepted per second.",
                "short",
                [
                    Q(_rate("otelcol_receiver_accepted_metric_points_total", "transport"), "points {{transport}}"),
                    Q(_rate("otelcol_receiver_accepted_log_records_total", "transport"), "logs {{transport}}"),
                    Q(_rate("otelcol_receiver_accepted_spans_total", "transport"), "spans {{transport}}"),
                ],
            )
        )
        .with_panel(
            ts(
                "Sent by exporter",
                "What each exporter delivered per second.",
                "short",
                [
                    Q(_rate("otelcol_exporter_sent_metric_points_total", "exporter"), "points {{exporter}}"),
                    Q(_rate("otelcol_exporter_sent_log_records_total", "exporter"), "logs {{exporter}}"),
                ],
            )
        )
        .with_panel(
            ts(
                "Refused and failed",
                "Data refused at the door or lost on the way out, per second.",
                "short",
                [
                    Q(f"{_rate('otelcol_receiver_refused_metric_points_total')} or vector(0)", "refused points"),
                    Q(f"{_rate('otelcol_exporter_send_failed_metric_points_total')} or vector(0)", "failed points"),
                    Q(f"{_rate('otelcol_exporter_send_failed_log_records_total')} or vector(0)", "failed logs"),
                ],
                steps=RED_ABOVE_ZERO,
            )
        )
        .with_panel(
            ts(
                "Exporter queues",
                "Items waiting in each exporter's queue against its capacity.",
                "short",
                [
                    Q("max by (exporter) (otelcol_exporter_queue_size)", "{{exporter}} size"),
                    Q("max by (exporter) (otelcol_exporter_queue_capacity)", "{{exporter}} capacity"),
                ],
            )
        )
        .with_panel(
            ts(
                "Collector memory",
                "Resident memory of the collector process.",
                "bytes",
                [Q("max(otelcol_process_memory_rss_bytes)", "rss")],
            )
        )
        .with_panel(
            ts(
                "Collector CPU",
                "CPU seconds per second used by the collector.",
                "percentunit",
                [Q(f"rate(otelcol_process_cpu_seconds_total[{RATE}])", "cpu")],
            )
        )
        .with_row(dashboard.Row("Agents"))
        .with_panel(
            ts(
                "Agent buffer depth",
                "Collection cycles each agent holds while it cannot deliver (0 when the collector keeps up).",
                "short",
                [Q("max by (host_name) (otel_agent_buffer_depth)", "{{host_name}}")],
                steps=thresholds((None, "green"), (3, "yellow"), (60, "red")),
                width=8,
            )
        )
        .with_panel(
            ts(
                "Agent buffer memory",
                "Bytes each agent's in-memory buffer holds.",
                "bytes",
                [Q("max by (host_name) (otel_agent_buffer_size_bytes)", "{{host_name}}")],
                width=8,
            )
        )
        .with_panel(
            ts(
                "Agent points dropped",
                "Points agents dropped per second: buffer full (the oldest go "
                "first) or over a metric's cardinality cap.",
                "short",
                [Q(f"sum by (reason) (rate(otel_agent_points_dropped_total[{RATE}]))", "{{reason}}")],
                steps=RED_ABOVE_ZERO,
                width=8,
            )
        )
        .with_panel(
            ts(
                "Agent export failures",
                "Failed export attempts per second (the cycles stay buffered and are retried).",
                "short",
                [Q(f"sum by (host_name) (rate(otel_agent_export_failures_total[{RATE}]))", "{{host_name}}")],
                steps=RED_ABOVE_ZERO,
            )
        )
        .with_panel(
            ts(
                "Agent cycle duration",
                "Wall time of each agent's last collection cycle.",
                "s",
                [Q("max by (host_name) (otel_agent_cycle_duration_seconds)", "{{host_name}}")],
            )
        )
    )
