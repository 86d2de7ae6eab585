"""Naming dialects: current semantic conventions (default) and the collector hostmetrics receiver's."""

from __future__ import annotations

from otel_agent.collectors.catalog import CATALOG
from otel_agent.models import AttrValue, MetricInfo, Point

SEMCONV = "semconv"
HOSTMETRICS = "hostmetrics"
NAMINGS = (SEMCONV, HOSTMETRICS)

HOSTMETRICS_NAMES = {
    "system.network.packet.count": "system.network.packets",
    "system.network.packet.dropped": "system.network.dropped",
    "system.network.connection.count": "system.network.connections",
    "system.process.count": "system.processes.count",
    "system.process.created": "system.processes.created",
    "system.memory.linux.available": "system.linux.memory.available",
}
HOSTMETRICS_ATTRS = {
    "cpu.mode": "state",
    "cpu.logical_number": "cpu",
    "system.device": "device",
    "disk.io.direction": "direction",
    "network.io.direction": "direction",
    "network.interface.name": "device",
    "system.memory.state": "state",
    "system.filesystem.state": "state",
    "system.filesystem.type": "type",
    "system.filesystem.mode": "mode",
    "system.filesystem.mountpoint": "mountpoint",
    "system.paging.state": "state",
    "system.paging.direction": "direction",
    "system.paging.fault.type": "type",
    "process.state": "status",
    "network.transport": "protocol",
    "network.connection.state": "state",
}
_BY_HOSTMETRICS_NAME = {new: CATALOG[old] for old, new in HOSTMETRICS_NAMES.items()}


def info_for(name: str) -> MetricInfo | None:
    """Kind, unit and description of a metric under either dialect's name."""
    info = CATALOG.get(name) or _BY_HOSTMETRICS_NAME.get(name)
    return info._replace(name=name) if info is not None else None


def _hostmetrics_value(key: str, value: AttrValue) -> AttrValue:
    if key == "cpu.logical_number":
        return f"cpu{value}"
    if key == "cpu.mode" and value == "iowait":
        return "wait"
    if key == "process.state" and value == "defunct":
        return "zombies"
    if key == "network.connection.state" and isinstance(value, str):
        return value.upper()
    return value


def to_hostmetrics(points: list[Point]) -> list[Point]:
    """Rename metrics and attributes the way the hostmetrics receiver (semconv 1.9) spells them."""
    out: list[Point] = []
    names, attrs_map = HOSTMETRICS_NAMES, HOSTMETRICS_ATTRS
    for p in points:
        if not p.name.startswith("system."):
            out.append(p)
            continue
        attrs = tuple((attrs_map.get(k, k), _hostmetrics_value(k, v)) for k, v in p.attrs)
        out.append(Point(names.get(p.name, p.name), attrs, p.value, p.start_ns))
    return out
