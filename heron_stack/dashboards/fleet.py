"""Fleet: one row per host, stale hosts highlighted."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard
from grafana_foundation_sdk.models.dashboard import DataTransformerConfig

from heron_stack.dashboards._panels import GREEN_YELLOW_RED_70_90, Q, base, grid, single, thresholds, ts

STALE_AFTER_S = 60
LAST_SEEN = "time() - max by (host_name) (max_over_time(timestamp(system_uptime_seconds)[1h:15s]))"


def build() -> dashboard.Dashboard:
    table = grid(
        "Hosts",
        f"One row per host: CPU busy, memory used, fullest filesystem, and seconds since its last report "
        f"(red after {STALE_AFTER_S} s: the host stopped reporting).",
        "percentunit",
        [
            Q('1 - avg by (host_name) (system_cpu_utilization_ratio{cpu_mode="idle"})', "cpu"),
            Q(
                "1 - sum by (host_name) (system_memory_linux_available_bytes) "
                "/ sum by (host_name) (system_memory_limit_bytes)",
                "memory",
            ),
            Q("max by (host_name) (system_filesystem_utilization_ratio)", "fullest disk"),
            Q(LAST_SEEN, "last seen"),
        ],
        steps=GREEN_YELLOW_RED_70_90,
        height=12,
    ).with_transformation(DataTransformerConfig(id_val="merge", options={}))
    return (
        base("Fleet", "heron-fleet", "Every host the agents report, side by side.", ["hosts"])
        .with_panel(
            single(
                "Hosts reporting",
                "Hosts that sent data in the last minute.",
                "short",
                Q(f"count(({LAST_SEEN}) < {STALE_AFTER_S}) or vector(0)"),
                width=6,
            )
        )
        .with_panel(
            single(
                "Stale hosts",
                f"Hosts silent for more than {STALE_AFTER_S} s within the last hour.",
                "short",
                Q(f"count(({LAST_SEEN}) >= {STALE_AFTER_S}) or vector(0)"),
                steps=thresholds((None, "green"), (1, "red")),
                width=6,
            )
        )
        .with_panel(
            single(
                "Busiest CPU",
                "CPU busy share of the busiest host.",
                "percentunit",
                Q('max(1 - avg by (host_name) (system_cpu_utilization_ratio{cpu_mode="idle"}))'),
                steps=GREEN_YELLOW_RED_70_90,
                min_val=0,
                max_val=1,
                width=6,
            )
        )
        .with_panel(
            single(
                "Fullest filesystem",
                "Used share of the fullest filesystem in the fleet.",
                "percentunit",
                Q("max(system_filesystem_utilization_ratio)"),
                steps=GREEN_YELLOW_RED_70_90,
                min_val=0,
                max_val=1,
                width=6,
            )
        )
        .with_panel(table)
        .with_panel(
            ts(
                "CPU busy by host",
                "Share of all cores not idle, per host.",
                "percentunit",
                [Q('1 - avg by (host_name) (system_cpu_utilization_ratio{cpu_mode="idle"})', "{{host_name}}")],
                max_val=1,
                steps=GREEN_YELLOW_RED_70_90,
            )
        )
        .with_panel(
            ts(
                "Memory used by host",
                "Share of memory not available, per host.",
                "percentunit",
                [
                    Q(
                        "1 - sum by (host_name) (system_memory_linux_available_bytes) "
                        "/ sum by (host_name) (system_memory_limit_bytes)",
                        "{{host_name}}",
                    )
                ],
                max_val=1,
                steps=GREEN_YELLOW_RED_70_90,
            )
        )
    )
