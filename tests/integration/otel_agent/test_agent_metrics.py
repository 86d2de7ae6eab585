"""Every metric family the agent reads on this host is queryable in Prometheus with its documented labels."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.fixtures.stack import StackHandle
from tests.helpers import prom_query, wait_for

from .agentproc import host_points, start_agent

pytestmark = pytest.mark.integration

# OTLP name -> the name the pipeline produces in Prometheus (verified by querying; also in docs/agent.md).
PROMETHEUS_NAMES = {
    "system.cpu.time": "system_cpu_time_seconds_total",
    "system.cpu.utilization": "system_cpu_utilization_ratio",
    "system.cpu.logical.count": "system_cpu_logical_count",
    "system.cpu.physical.count": "system_cpu_physical_count",
    "system.cpu.frequency": "system_cpu_frequency_hertz",
    "system.cpu.load_average.1m": "system_cpu_load_average_1m",
    "system.cpu.load_average.5m": "system_cpu_load_average_5m",
    "system.cpu.load_average.15m": "system_cpu_load_average_15m",
    "system.memory.usage": "system_memory_usage_bytes",
    "system.memory.limit": "system_memory_limit_bytes",
    "system.memory.utilization": "system_memory_utilization_ratio",
    "system.memory.linux.available": "system_memory_linux_available_bytes",
    "system.paging.usage": "system_paging_usage_bytes",
    "system.paging.utilization": "system_paging_utilization_ratio",
    "system.paging.operations": "system_paging_operations_total",
    "system.paging.faults": "system_paging_faults_total",
    "system.disk.io": "system_disk_io_bytes_total",
    "system.disk.operations": "system_disk_operations_total",
    "system.disk.io_time": "system_disk_io_time_seconds_total",
    "system.disk.operation_time": "system_disk_operation_time_seconds_total",
    "system.disk.merged": "system_disk_merged_total",
    "system.filesystem.usage": "system_filesystem_usage_bytes",
    "system.filesystem.utilization": "system_filesystem_utilization_ratio",
    "system.filesystem.limit": "system_filesystem_limit_bytes",
    "system.filesystem.inodes.usage": "system_filesystem_inodes_usage",
    "system.network.io": "system_network_io_bytes_total",
    "system.network.packet.count": "system_network_packet_count_total",
    "system.network.packet.dropped": "system_network_packet_dropped_total",
    "system.network.errors": "system_network_errors_total",
    "system.network.connection.count": "system_network_connection_count",
    "system.process.count": "system_process_count",
    "system.process.created": "system_process_created_total",
    "system.uptime": "system_uptime_seconds",
    "system.context_switches": "system_context_switches_total",
    "system.interrupts": "system_interrupts_total",
    "system.linux.file_descriptor.count": "system_linux_file_descriptor_count",
    "system.linux.file_descriptor.limit": "system_linux_file_descriptor_limit",
    "system.linux.pressure.stall_time": "system_linux_pressure_stall_time_seconds_total",
    "system.network.interface.up": "system_network_interface_up",
    "system.network.interface.carrier": "system_network_interface_carrier",
    "system.network.interface.mtu": "system_network_interface_mtu_bytes",
    "system.network.interface.speed": "system_network_interface_speed_bytes_per_second",
    "system.network.tcp.retransmits": "system_network_tcp_retransmits_total",
    "system.network.tcp.resets": "system_network_tcp_resets_total",
    "system.network.tcp.listen.overflows": "system_network_tcp_listen_overflows_total",
    "system.network.tcp.listen.drops": "system_network_tcp_listen_drops_total",
    "system.network.udp.errors": "system_network_udp_errors_total",
    "system.network.conntrack.count": "system_network_conntrack_count",
    "system.network.conntrack.max": "system_network_conntrack_max",
    "system.clock.offset": "system_clock_offset_seconds",
    "system.clock.max_error": "system_clock_max_error_seconds",
    "system.clock.synchronized": "system_clock_synchronized",
    "otel_agent.cycle.duration": "otel_agent_cycle_duration_seconds",
    "otel_agent.points.exported": "otel_agent_points_exported_total",
    "otel_agent.export.failures": "otel_agent_export_failures_total",
    "otel_agent.buffer.depth": "otel_agent_buffer_depth",
    "otel_agent.buffer.size": "otel_agent_buffer_size_bytes",
    "otel_agent.points.dropped": "otel_agent_points_dropped_total",
}
RESOURCE_LABELS = {
    "host_name",
    "host_id",
    "host_arch",
    "os_type",
    "service_name",
    "service_instance_id",
    "service_version",
}


def _label(key: str) -> str:
    return key.replace(".", "_")


def test_every_family_is_queryable_with_its_labels(stack: StackHandle, tmp_path: Path) -> None:
    expected: dict[str, set[str]] = {}
    for point in host_points():
        attributes = point["attributes"]
        assert isinstance(attributes, dict)
        labels = {_label(k) for k in attributes}
        expected.setdefault(PROMETHEUS_NAMES[str(point["name"])], set()).update(labels)
    assert len(expected) >= 30  # this host has CPU, memory, disk, filesystem and network readings
    agent = start_agent(stack.otlp_http_endpoint, tmp_path, prefix="agent-families")
    try:
        selector = f'{{service_name="{agent.service}"}}'

        def names() -> set[str] | None:
            got = {
                r["metric"]["__name__"] for r in prom_query(stack.prometheus_url, f"count by (__name__) ({selector})")
            }
            return got if set(expected) <= got else None

        wait_for(names, timeout=90, what=f"every family of {agent.service} in Prometheus")
        for name, labels in expected.items():
            series = prom_query(stack.prometheus_url, f"{name}{selector}")
            seen = set().union(*(set(s["metric"]) for s in series))
            assert labels | RESOURCE_LABELS <= seen, f"{name}: missing labels {labels | RESOURCE_LABELS - seen}"
        host = prom_query(stack.prometheus_url, f"system_uptime_seconds{selector}")[0]["metric"]
        assert host["host_id"] == Path("/etc/machine-id").read_text().strip()
    finally:
        assert agent.terminate() == 0


def test_grpc_export_reaches_prometheus(stack: StackHandle, tmp_path: Path) -> None:
    agent = start_agent(
        stack.otlp_grpc_endpoint, tmp_path, prefix="agent-grpc", extra={"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}
    )
    try:
        query = f'system_cpu_time_seconds_total{{service_name="{agent.service}",cpu_mode="idle"}}'
        series = wait_for(lambda: prom_query(stack.prometheus_url, query), timeout=60, what="metrics sent over gRPC")
        assert {s["metric"]["cpu_logical_number"] for s in series} == {str(n) for n in range(os.cpu_count() or 1)}
    finally:
        assert agent.terminate() == 0
