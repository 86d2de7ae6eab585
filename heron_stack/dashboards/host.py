"""Host overview: one host at a time, from the agent's semantic-convention metrics."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard, timeseries

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


def _pressure(resource: str, title: str, description: str) -> timeseries.Panel:
    """One resource's pressure stall information: the share of wall time some (or all) tasks stalled."""
    return ts(
        title,
        description + " From the kernel's PSI totals; 'some' is at least one task, 'full' all non-idle tasks.",
        "percentunit",
        [
            Q(
                f"sum by (system_linux_pressure_scope) (rate(system_linux_pressure_stall_time_seconds_total"
                f'{{{H}, system_linux_pressure_resource="{resource}"}}[{RATE}]))',
                "{{system_linux_pressure_scope}}",
            )
        ],
        max_val=1,
        width=8,
        steps=GREEN_YELLOW_RED_70_90,
    )


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
        .with_panel(
            ts(
                "Link state",
                "1 while an interface is up (operational state) and while it has a carrier (a physical link).",
                "short",
                [
                    Q(
                        f"max by (network_interface_name) (system_network_interface_up{{{H}}})",
                        "{{network_interface_name}} up",
                    ),
                    Q(
                        f"max by (network_interface_name) (system_network_interface_carrier{{{H}}})",
                        "{{network_interface_name}} carrier",
                    ),
                ],
                max_val=1,
                width=8,
            )
        )
        .with_panel(
            ts(
                "Link speed",
                "Negotiated speed of each physical link. Virtual links report none: one zero line says so.",
                "Bps",
                [
                    Q(
                        f"max by (network_interface_name) (system_network_interface_speed_bytes_per_second{{{H}}}) "
                        f"or on() "
                        f'label_replace(max(0 * system_network_interface_up{{{H}}}), "network_interface_name", '
                        f'"no link reports a speed", "", "")',
                        "{{network_interface_name}}",
                    )
                ],
                width=8,
            )
        )
        .with_panel(
            ts(
                "MTU",
                "Largest packet each interface sends, in bytes; a mismatch along a path fragments or drops traffic.",
                "short",
                [
                    Q(
                        f"max by (network_interface_name) (system_network_interface_mtu_bytes{{{H}}})",
                        "{{network_interface_name}}",
                    )
                ],
                width=8,
            )
        )
        .with_row(dashboard.Row("TCP, UDP and conntrack"))
        .with_panel(
            ts(
                "TCP retransmits and resets",
                "Segments retransmitted and resets sent per second: lost packets, refused or aborted connections.",
                "pps",
                [
                    Q(f"rate(system_network_tcp_retransmits_total{{{H}}}[{RATE}])", "retransmitted"),
                    Q(f"rate(system_network_tcp_resets_total{{{H}}}[{RATE}])", "resets sent"),
                ],
                width=6,
            )
        )
        .with_panel(
            ts(
                "Listen queue overflows",
                "Connections dropped per second because an accept queue was full (the server accepts too slowly).",
                "cps",
                [
                    Q(f"rate(system_network_tcp_listen_overflows_total{{{H}}}[{RATE}])", "overflows"),
                    Q(f"rate(system_network_tcp_listen_drops_total{{{H}}}[{RATE}])", "drops"),
                ],
                width=6,
                steps=thresholds((None, "green"), (0.1, "red")),
            )
        )
        .with_panel(
            ts(
                "UDP errors",
                "UDP datagrams lost per second, by reason and IP version (buffer errors: a socket read too slowly).",
                "pps",
                [
                    Q(
                        f"sum by (error_type, network_type) (rate(system_network_udp_errors_total{{{H}}}[{RATE}]))",
                        "{{network_type}} {{error_type}}",
                    )
                ],
                width=6,
            )
        )
        .with_panel(
            ts(
                "Conntrack table",
                "Share of the netfilter connection-tracking table in use; when full, new connections are dropped. "
                "A host without the conntrack module shows one zero line, 'not loaded'.",
                "percentunit",
                [
                    Q(
                        f"label_replace(system_network_conntrack_count{{{H}}} / system_network_conntrack_max{{{H}}}, "
                        f'"state", "in use", "", "") or on() '
                        f'label_replace(0 * system_uptime_seconds{{{H}}}, "state", "not loaded", "", "")',
                        "{{state}}",
                    )
                ],
                max_val=1,
                width=6,
                steps=GREEN_YELLOW_RED_70_90,
            )
        )
        .with_row(dashboard.Row("Kernel"))
        .with_panel(
            ts(
                "Context switches and interrupts",
                "Context switches and interrupts serviced per second.",
                "ops",
                [
                    Q(f"rate(system_context_switches_total{{{H}}}[{RATE}])", "context switches"),
                    Q(f"rate(system_interrupts_total{{{H}}}[{RATE}])", "interrupts"),
                ],
                width=8,
            )
        )
        .with_panel(
            ts(
                "File descriptors",
                "Allocated file handles as a share of the system-wide maximum (fs.file-max).",
                "percentunit",
                [
                    Q(
                        f"system_linux_file_descriptor_count{{{H}}} / system_linux_file_descriptor_limit{{{H}}}",
                        "allocated",
                    )
                ],
                max_val=1,
                width=8,
                steps=GREEN_YELLOW_RED_70_90,
            )
        )
        .with_panel(
            ts(
                "Clock offset",
                "Offset of the system clock from its time source and the kernel's bound on its error.",
                "s",
                [
                    Q(f"system_clock_offset_seconds{{{H}}}", "offset"),
                    Q(f"system_clock_max_error_seconds{{{H}}}", "max error"),
                ],
                min_val=None,
                width=5,
            )
        )
        .with_panel(
            single(
                "Clock synchronized",
                "Whether the kernel considers the clock synchronized to a time source (NTP, PTP).",
                "bool",
                Q(f"system_clock_synchronized{{{H}}}"),
                steps=thresholds((None, "red"), (1, "green")),
                width=3,
                height=8,
            )
        )
        .with_row(dashboard.Row("Pressure"))
        .with_panel(_pressure("cpu", "CPU pressure", "Share of time runnable tasks waited for a CPU."))
        .with_panel(
            _pressure(
                "memory",
                "Memory pressure",
                "Share of time tasks stalled reclaiming memory or faulting pages in ('full': all at once).",
            )
        )
        .with_panel(_pressure("io", "I/O pressure", "Share of time tasks stalled on I/O ('full': every task at once)."))
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
