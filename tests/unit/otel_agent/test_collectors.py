"""Pure translation: readings from the fixture tree become the documented metric families."""

from __future__ import annotations

from collections import defaultdict

import pytest

from otel_agent.collectors import CATALOG, Filters, Pipeline, info_for
from otel_agent.collectors.cardinality import CardinalityGuard
from otel_agent.models import Kind, MemoryReading, NetReading, Point, Readings
from otel_agent.sources.procfs import ProcfsSource

# Each host family with the attribute keys it must carry (sets: a family may mix attribute sets).
FAMILIES = {
    "system.cpu.time": {("cpu.logical_number", "cpu.mode")},
    "system.cpu.utilization": {("cpu.logical_number", "cpu.mode")},
    "system.cpu.logical.count": {()},
    "system.cpu.physical.count": {()},
    "system.cpu.frequency": {("cpu.logical_number",)},
    "system.cpu.load_average.1m": {()},
    "system.cpu.load_average.5m": {()},
    "system.cpu.load_average.15m": {()},
    "system.memory.usage": {("system.memory.state",)},
    "system.memory.limit": {()},
    "system.memory.utilization": {("system.memory.state",)},
    "system.memory.linux.available": {()},
    "system.paging.usage": {("system.device", "system.paging.state")},
    "system.paging.utilization": {("system.device", "system.paging.state")},
    "system.paging.operations": {("system.paging.direction", "system.paging.fault.type")},
    "system.paging.faults": {("system.paging.fault.type",)},
    "system.disk.io": {("disk.io.direction", "system.device")},
    "system.disk.operations": {("disk.io.direction", "system.device")},
    "system.disk.io_time": {("system.device",)},
    "system.disk.operation_time": {("disk.io.direction", "system.device")},
    "system.disk.merged": {("disk.io.direction", "system.device")},
    "system.filesystem.usage": {
        (
            "system.device",
            "system.filesystem.mode",
            "system.filesystem.mountpoint",
            "system.filesystem.state",
            "system.filesystem.type",
        )
    },
    "system.filesystem.utilization": {
        (
            "system.device",
            "system.filesystem.mode",
            "system.filesystem.mountpoint",
            "system.filesystem.state",
            "system.filesystem.type",
        )
    },
    "system.filesystem.limit": {
        ("system.device", "system.filesystem.mode", "system.filesystem.mountpoint", "system.filesystem.type")
    },
    "system.filesystem.inodes.usage": {
        (
            "system.device",
            "system.filesystem.mode",
            "system.filesystem.mountpoint",
            "system.filesystem.state",
            "system.filesystem.type",
        )
    },
    "system.network.io": {("network.interface.name", "network.io.direction")},
    "system.network.packet.count": {("network.interface.name", "network.io.direction")},
    "system.network.packet.dropped": {("network.interface.name", "network.io.direction")},
    "system.network.errors": {("network.interface.name", "network.io.direction")},
    "system.network.connection.count": {("network.connection.state", "network.transport"), ("network.transport",)},
    "system.process.count": {("process.state",)},
    "system.process.created": {()},
    "system.uptime": {()},
    "system.context_switches": {()},
    "system.interrupts": {()},
    "system.linux.file_descriptor.count": {()},
    "system.linux.file_descriptor.limit": {()},
    "system.linux.pressure.stall_time": {("system.linux.pressure.resource", "system.linux.pressure.scope")},
    "system.network.interface.up": {("network.interface.name",)},
    "system.network.interface.carrier": {("network.interface.name",)},
    "system.network.interface.mtu": {("network.interface.name",)},
    "system.network.interface.speed": {("network.interface.name",)},
    "system.network.tcp.retransmits": {()},
    "system.network.tcp.resets": {()},
    "system.network.tcp.listen.overflows": {()},
    "system.network.tcp.listen.drops": {()},
    "system.network.udp.errors": {("error.type", "network.type")},
    "system.network.conntrack.count": {()},
    "system.network.conntrack.max": {()},
    "system.clock.offset": {()},
    "system.clock.max_error": {()},
    "system.clock.synchronized": {()},
}


def _by_name(points: list[Point]) -> dict[str, list[Point]]:
    out: dict[str, list[Point]] = defaultdict(list)
    for p in points:
        out[p.name].append(p)
    return out


def test_every_documented_family_is_built_with_its_attributes(source: ProcfsSource) -> None:
    points, dropped = Pipeline().build(source.read())
    assert dropped == 0
    got = {name: {tuple(sorted(k for k, _ in p.attrs)) for p in pts} for name, pts in _by_name(points).items()}
    assert got == FAMILIES


def test_catalog_kinds_and_units_follow_semantic_conventions() -> None:
    assert CATALOG["system.cpu.time"].kind is Kind.COUNTER
    assert CATALOG["system.memory.usage"].kind is Kind.UPDOWN
    assert CATALOG["system.cpu.utilization"].unit == "1"
    assert CATALOG["system.disk.io"].unit == "By"
    assert CATALOG["system.network.connection.count"].kind is Kind.UPDOWN


def test_memory_states_sum_to_the_limit(source: ProcfsSource) -> None:
    points = _by_name(Pipeline().build(source.read())[0])
    limit = points["system.memory.limit"][0].value
    assert sum(p.value for p in points["system.memory.usage"]) == limit
    assert sum(p.value for p in points["system.memory.utilization"]) == pytest.approx(1.0)


def test_filters_drop_loop_ram_partitions_but_keep_whole_disks(source: ProcfsSource) -> None:
    points = _by_name(Pipeline().build(source.read())[0])
    devices = {dict(p.attrs)["system.device"] for p in points["system.disk.io"]}
    assert devices == {"sda", "nvme0n1"}


def test_interface_filters_and_loopback_switch(source: ProcfsSource) -> None:
    readings = source.read()
    pipeline = Pipeline(Filters(interface_exclude=r"^veth", include_loopback=False))
    points = _by_name(pipeline.build(readings)[0])
    assert {dict(p.attrs)["network.interface.name"] for p in points["system.network.io"]} == {"eth0"}


def test_cpu_utilization_comes_from_the_change_between_cycles() -> None:
    pipeline = Pipeline()
    first = Readings(time_ns=1, cpu_times=[{"user": 10.0, "idle": 90.0}])
    second = Readings(time_ns=2, cpu_times=[{"user": 13.0, "idle": 91.0}])
    pipeline.build(first)
    util = {dict(p.attrs)["cpu.mode"]: p.value for p in pipeline.build(second)[0] if p.name == "system.cpu.utilization"}
    assert util == {"user": 0.75, "idle": 0.25}


def test_hostmetrics_naming_renames_metrics_attributes_and_values(source: ProcfsSource) -> None:
    points = _by_name(Pipeline(naming="hostmetrics").build(source.read())[0])
    assert "system.network.packets" in points
    assert "system.network.packet.count" not in points
    assert "system.processes.count" in points
    assert "system.linux.memory.available" in points
    cpu = {dict(p.attrs)["state"] for p in points["system.cpu.time"]}
    assert "wait" in cpu
    assert "iowait" not in cpu
    assert {dict(p.attrs)["cpu"] for p in points["system.cpu.time"]} == {"cpu0", "cpu1"}
    states = {dict(p.attrs).get("state") for p in points["system.network.connections"]}
    assert "ESTABLISHED" in states
    assert info_for("system.network.packets") is not None


def test_cardinality_cap_keeps_known_series_and_counts_the_rest() -> None:
    guard = CardinalityGuard(limit=2)
    pts = [Point("m", (("i", n),), 1) for n in range(5)]
    kept, dropped = guard.apply(pts)
    assert [dict(p.attrs)["i"] for p in kept] == [0, 1]
    assert dropped == 3
    kept, dropped = guard.apply(list(reversed(pts)))  # known series stay admitted, new ones stay out
    assert sorted(dict(p.attrs)["i"] for p in kept) == [0, 1]
    assert dropped == 3


def test_cardinality_cap_applies_per_metric_in_the_pipeline() -> None:
    nics = [NetReading(f"eth{n}", 1, 1, 1, 1, 0, 0, 0, 0) for n in range(10)]
    points, dropped = Pipeline(cardinality_limit=4).build(Readings(time_ns=1, network=nics))
    assert len([p for p in points if p.name == "system.network.io"]) == 4
    assert dropped == 4 * 16  # 4 families x (20 series - 4 admitted)


def test_a_platform_without_most_readings_still_builds_what_it_has() -> None:
    readings = Readings(time_ns=1, memory=MemoryReading(100, 50, 0, 0, None))
    points = _by_name(Pipeline().build(readings)[0])
    assert set(points) == {"system.memory.limit", "system.memory.usage", "system.memory.utilization"}
