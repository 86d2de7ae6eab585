"""Load lab: what loadgen is doing and what the host does about it, with every action as an annotation."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard

from heron_stack.dashboards._panels import (
    GREEN_YELLOW_RED_70_90,
    LOGS,
    Q,
    base,
    log_panel,
    single,
    thresholds,
    ts,
)

RATE = "$__rate_interval"
LOADGEN = 'service_name="heron-loadgen"'
EVENTS = '{service.name="heron-loadgen"} event.type:~"^(action|scenario)_"'


def build() -> dashboard.Dashboard:
    events = (
        dashboard.AnnotationQuery()
        .name("Load lab actions and scenarios")
        .datasource(LOGS)
        .enable(True)
        .icon_color("orange")
        .expr(EVENTS)
    )
    return (
        base(
            "Load lab",
            "heron-loadlab",
            "What the load lab is running, what it achieves, and how the host "
            "and the pipeline react. Orange marks: every action and scenario start and stop.",
            ["loadlab"],
        )
        .annotation(events)
        .with_panel(
            single(
                "Active actions",
                "Actions running now, all types.",
                "short",
                Q("sum(loadgen_actions_active) or vector(0)"),
                width=6,
            )
        )
        .with_panel(
            single(
                "Memory held",
                "Bytes the load lab's memory actions hold right now.",
                "bytes",
                Q("sum(loadgen_memory_allocated_bytes) or vector(0)"),
                width=6,
            )
        )
        .with_panel(
            single(
                "Traffic sent /s",
                "Requests the traffic actions sent per second (all outcomes).",
                "reqps",
                Q(f"sum(rate(loadgen_traffic_requests_total[{RATE}])) or vector(0)"),
                width=6,
            )
        )
        .with_panel(
            single(
                "Traffic failing",
                "Share of traffic requests that failed over the last minute.",
                "percentunit",
                Q(
                    '(sum(rate(loadgen_traffic_requests_total{outcome="failed"}[1m])) or vector(0)) '
                    "/ clamp_min(sum(rate(loadgen_traffic_requests_total[1m])), 1e-9)"
                ),
                steps=thresholds((None, "green"), (0.01, "yellow"), (0.05, "red")),
                min_val=0,
                max_val=1,
                width=6,
            )
        )
        .with_panel(
            ts(
                "Active actions by type",
                "Running CPU, memory, disk and traffic actions.",
                "short",
                [Q("sum by (loadgen_action_type) (loadgen_actions_active)", "{{loadgen_action_type}}")],
            )
        )
        .with_panel(
            ts(
                "CPU: target vs achieved",
                "What each CPU action aims for and what it achieves "
                "(share of its cores), against the host's CPU busy share.",
                "percentunit",
                [
                    Q("max by (loadgen_action_id) (loadgen_cpu_target_ratio)", "target {{loadgen_action_id}}"),
                    Q("max by (loadgen_action_id) (loadgen_cpu_achieved_ratio)", "achieved {{loadgen_action_id}}"),
                    Q('1 - avg by (host_name) (system_cpu_utilization_ratio{cpu_mode="idle"})', "host {{host_name}}"),
                ],
                max_val=1,
                steps=GREEN_YELLOW_RED_70_90,
            )
        )
        .with_panel(
            ts(
                "Traffic by outcome",
                "Requests per second the traffic actions sent: ok, failed, dropped "
                "(arrivals the generator could not send in time).",
                "reqps",
                [Q(f"sum by (outcome) (rate(loadgen_traffic_requests_total[{RATE}]))", "{{outcome}}")],
            )
        )
        .with_panel(
            ts(
                "Traffic latency",
                "Client-side request latency percentiles of the traffic actions.",
                "s",
                [
                    Q(
                        f"histogram_quantile({p}, sum by (le) "
                        f"(rate(http_client_request_duration_seconds_bucket{{{LOADGEN}}}[{RATE}])))",
                        f"p{pct}",
                    )
                    for p, pct in ((0.5, 50), (0.95, 95), (0.99, 99))
                ],
            )
        )
        .with_panel(
            ts(
                "Memory held",
                "Bytes held by memory actions (touched pages, resident).",
                "bytes",
                [Q("sum(loadgen_memory_allocated_bytes)", "held")],
            )
        )
        .with_panel(
            ts(
                "Disk operations",
                "Disk I/O operations and bytes per second from disk actions.",
                "ops",
                [Q(f"sum(rate(loadgen_disk_operations_total[{RATE}])) or vector(0)", "operations")],
            )
        )
        .with_panel(
            log_panel(
                "Actions and scenarios",
                "Every start, progress, finish and failure of an action or scenario, newest first.",
                EVENTS,
            )
        )
    )
