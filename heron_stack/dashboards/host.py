"""Host overview: one host at a time, from the agent's semantic-convention metrics."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard

from alert_worker.anomaly.compile import zscore_expr
from alert_worker.anomaly.pack import default_specs
from heron_stack.dashboards._panels import (
    GREEN_YELLOW_RED_70_90,
    Q,
    anomaly_steps,
    base,
    grid,
    host_variable,
    single,
    thresholds,
    ts,
)

H = 'host_name="$host"'
RATE = "$__rate_interval"


def build() -> dashboard.Dashboard:
    return (
        base("Host overview", "heron-host-overview", "Everything the Heron agent reports about one host.", ["hosts"])
        .with_variable(host_variable())
        .with_row(dashboard.Row("Summary"))
        .with_panel(
            single(
                "CPU busy",
                "Share of all cores not idle, averaged over the last minute.",
                "percentunit",
                Q(f'1 - avg(avg_over_time(system_cpu_utilization_ratio{{{H}, cpu_mode="idle"}}[1m]))'),
                steps=GREEN_YELLOW_RED_70_90,
                min_val=0,
                max_val=1,
            )
        )
        .with_panel(
            single(
                "Memory used",
                "Share of memory not available to new work (from MemAvailable).",
                "percentunit",
                Q(f"1 - system_memory_linux_available_bytes{{{H}}} / system_memory_limit_bytes{{{H}}}"),
                steps=GREEN_YELLOW_RED_70_90,
                min_val=0,
                max_val=1,
            )
        )
        .with_panel(
            single(
                "Fullest filesystem",
                "Used share of the fullest mounted filesystem.",
                "percentunit",
                Q(f"max(system_filesystem_utilization_ratio{{{H}}})"),
                steps=GREEN_YELLOW_RED_70_90,
                min_val=0,
                max_val=1,
            )
        )
        .with_panel(
            single(
                "Load (1m)",
                "1-minute load average: runnable plus uninterruptible threads.",
                "short",
                Q(f"system_cpu_load_average_1m{{{H}}}"),
                min_val=0,
            )
        )
        .with_panel(
            single("Logical CPUs", "Logical CPUs the host has.", "short", Q(f"system_cpu_logical_count{{{H}}}"))
        )
        .with_panel(single("Uptime", "Time since the host booted.", "s", Q(f"system_uptime_seconds{{{H}}}")))
        .with_row(dashboard.Row("CPU"))
        .with_panel(
            ts(
                "CPU by mode",
                "Share of all cores spent in each mode (idle left out).",
                "percentunit",
                [Q(f'avg by (cpu_mode) (system_cpu_utilization_ratio{{{H}, cpu_mode!="idle"}})', "{{cpu_mode}}")],
                max_val=1,
                stack=True,
            )
        )
        .with_panel(
            ts(
                "CPU busy per core",
                "Share of each logical CPU not idle.",
                "percentunit",
                [
                    Q(
                        f'1 - avg by (cpu_logical_number) (system_cpu_utilization_ratio{{{H}, cpu_mode="idle"}})',
                        "cpu {{cpu_logical_number}}",
                    )
                ],
                max_val=1,
                steps=GREEN_YELLOW_RED_70_90,
            )
        )
        .with_panel(
            ts(
                "Load average",
                "1, 5 and 15 minute load averages against the number of logical CPUs.",
                "short",
                [
                    Q(f"system_cpu_load_average_1m{{{H}}}", "1m"),
                    Q(f"system_cpu_load_average_5m{{{H}}}", "5m"),
                    Q(f"system_cpu_load_average_15m{{{H}}}", "15m"),
                    Q(f"system_cpu_logical_count{{{H}}}", "logical CPUs"),
                ],
            )
        )
        .with_panel(
            ts(
                "CPU anomaly score (\N{GREEK SMALL LETTER SIGMA})",
                "How far CPU use is from its usual value for this time of the week, in standard deviations. "
                f"HostCpuAnomaly fires beyond {default_specs()['host_cpu'].z:g} (and a minimum deviation).",
                "short",
                [Q(zscore_expr(default_specs()["host_cpu"], "{" + H + "}"), "CPU")],
                min_val=None,
                steps=anomaly_steps(default_specs()["host_cpu"].z),
            )
        )
        .with_row(dashboard.Row("Memory"))
        .with_panel(
            ts(
                "Memory by state",
                "Bytes used, cached, in buffers and free.",
                "bytes",
                [Q(f"sum by (system_memory_state) (system_memory_usage_bytes{{{H}}})", "{{system_memory_state}}")],
                stack=True,
            )
        )
        .with_panel(
            ts(
                "Swap",
                "Swap space used and free. A host without swap shows one zero line, 'none configured'.",
                "bytes",
                [
                    Q(
                        f"sum by (system_paging_state) (system_paging_usage_bytes{{{H}}}) or "
                        f'label_replace(0 * system_memory_limit_bytes{{{H}}}, "system_paging_state", '
                        f'"none configured", "", "")',
                        "{{system_paging_state}}",
                    )
                ],
                stack=True,
            )
        )
        .with_row(dashboard.Row("Disks"))
        .with_panel(
            ts(
                "Disk throughput",
                "Bytes read and written per second, per device.",
                "Bps",
                [
                    Q(
                        f"sum by (system_device, disk_io_direction) (rate(system_disk_io_bytes_total{{{H}}}[{RATE}]))",
                        "{{system_device}} {{disk_io_direction}}",
                    )
                ],
                width=8,
            )
        )
        .with_panel(
            ts(
                "Disk IOPS",
                "Read and write operations per second, per device.",
                "iops",
                [
                    Q(
                        f"sum by (system_device, disk_io_direction) "
                        f"(rate(system_disk_operations_total{{{H}}}[{RATE}]))",
                        "{{system_device}} {{disk_io_direction}}",
                    )
                ],
                width=8,
            )
        )
        .with_panel(
            ts(
                "Disk busy",
                "Share of time each device had I/O in flight.",
                "percentunit",
                [
                    Q(
                        f"sum by (system_device) (rate(system_disk_io_time_seconds_total{{{H}}}[{RATE}]))",
                        "{{system_device}}",
                    )
                ],
                max_val=1,
                width=8,
                steps=GREEN_YELLOW_RED_70_90,
            )
        )
        .with_panel(
            grid(
                "Filesystems",
                "Used share per mountpoint: yellow from 70 %, red from 90 %.",
                "percentunit",
                [
                    Q(
                        f"max by (system_filesystem_mountpoint, system_device, system_filesystem_type) "
                        f"(system_filesystem_utilization_ratio{{{H}}})"
                    )
                ],
                steps=GREEN_YELLOW_RED_70_90,
                height=7,
            )
        )
        .with_row(dashboard.Row("Network"))
        .with_panel(
            ts(
                "Network throughput",
                "Bytes received and sent per second, per interface.",
                "Bps",
                [
                    Q(
                        f"sum by (network_interface_name, network_io_direction) "
                        f"(rate(system_network_io_bytes_total{{{H}}}[{RATE}]))",
                        "{{network_interface_name}} {{network_io_direction}}",
                    )
                ],
                width=8,
            )
        )
        .with_panel(
            ts(
                "Network errors and drops",
                "Packets with errors and packets dropped per second.",
                "pps",
                [
                    Q(
                        f"sum by (network_interface_name) (rate(system_network_errors_total{{{H}}}[{RATE}]))",
                        "errors {{network_interface_name}}",
                    ),
                    Q(
                        f"sum by (network_interface_name) (rate(system_network_packet_dropped_total{{{H}}}[{RATE}]))",
                        "dropped {{network_interface_name}}",
                    ),
                ],
                width=8,
                steps=thresholds((None, "green"), (1, "red")),
            )
        )
        .with_panel(
            ts(
                "Connections by state",
                "Open TCP/UDP connections by state.",
                "short",
                [
                    Q(
                        f"sum by (network_transport, network_connection_state) "
                        f"(system_network_connection_count{{{H}}})",
                        "{{network_transport}} {{network_connection_state}}",
                    )
                ],
                width=8,
            )
        )
        .with_row(dashboard.Row("Processes"))
        .with_panel(
            ts(
                "Processes by state",
                "Processes running, sleeping, blocked, ...",
                "short",
                [Q(f"sum by (process_state) (system_process_count{{{H}}})", "{{process_state}}")],
                width=12,
            )
        )
        .with_panel(
            ts(
                "Processes created",
                "New processes per second (forks).",
                "ops",
                [Q(f"rate(system_process_created_total{{{H}}}[{RATE}])", "created")],
                width=12,
            )
        )
    )
