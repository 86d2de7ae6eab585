"""Kernel activity, file descriptors, pressure stalls, link state, protocol counters, conntrack and clock."""

from __future__ import annotations

from otel_agent.collectors.filters import Filters
from otel_agent.models import Attrs, Point, Readings


def activity_points(r: Readings) -> list[Point]:
    points: list[Point] = []
    if r.context_switches is not None:
        points.append(Point("system.context_switches", (), r.context_switches))
    if r.interrupts is not None:
        points.append(Point("system.interrupts", (), r.interrupts))
    if r.file_descriptors is not None:
        allocated, limit = r.file_descriptors
        points.append(Point("system.linux.file_descriptor.count", (), allocated))
        points.append(Point("system.linux.file_descriptor.limit", (), limit))
    for p in r.pressure or ():
        attrs = (("system.linux.pressure.resource", p.resource), ("system.linux.pressure.scope", p.scope))
        points.append(Point("system.linux.pressure.stall_time", attrs, p.stalled_seconds))
    if r.clock is not None:
        points.append(Point("system.clock.offset", (), r.clock.offset_seconds))
        points.append(Point("system.clock.max_error", (), r.clock.max_error_seconds))
        points.append(Point("system.clock.synchronized", (), int(r.clock.synchronized)))
    return points


def link_points(r: Readings, filters: Filters) -> list[Point]:
    points: list[Point] = []
    for link in r.links or ():
        if not filters.interface(link.interface):
            continue
        dev: Attrs = (("network.interface.name", link.interface),)
        points.append(Point("system.network.interface.up", dev, int(link.up)))
        if link.carrier is not None:
            points.append(Point("system.network.interface.carrier", dev, int(link.carrier)))
        if link.mtu is not None:
            points.append(Point("system.network.interface.mtu", dev, link.mtu))
        if link.speed_bytes is not None:
            points.append(Point("system.network.interface.speed", dev, link.speed_bytes))
    return points


def protocol_points(r: Readings) -> list[Point]:
    points: list[Point] = []
    n = r.netstat
    if n is not None:
        points += (
            Point("system.network.tcp.retransmits", (), n.tcp_retransmits),
            Point("system.network.tcp.resets", (), n.tcp_resets_sent),
            Point("system.network.tcp.listen.overflows", (), n.tcp_listen_overflows),
            Point("system.network.tcp.listen.drops", (), n.tcp_listen_drops),
        )
        for ip, kind, count in n.udp_errors:
            points.append(Point("system.network.udp.errors", (("error.type", kind), ("network.type", ip)), count))
    if r.conntrack is not None:
        count, limit = r.conntrack
        points.append(Point("system.network.conntrack.count", (), count))
        points.append(Point("system.network.conntrack.max", (), limit))
    return points
