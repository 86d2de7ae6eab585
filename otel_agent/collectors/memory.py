"""Memory and paging points."""

from __future__ import annotations

from otel_agent.models import Point, Readings


def memory_points(r: Readings) -> list[Point]:
    m = r.memory
    if m is None:
        return []
    # "used" is what is left once free, buffers and page cache are taken out, so the states sum to the limit.
    used = max(m.total - m.free - m.buffers - m.cached, 0)
    states = (("used", used), ("free", m.free), ("buffers", m.buffers), ("cached", m.cached))
    points = [Point("system.memory.limit", (), m.total)]
    for state, value in states:
        attrs = (("system.memory.state", state),)
        points.append(Point("system.memory.usage", attrs, value))
        points.append(Point("system.memory.utilization", attrs, value / m.total if m.total else 0.0))
    if m.available is not None:
        points.append(Point("system.memory.linux.available", (), m.available))
    return points


def paging_points(r: Readings) -> list[Point]:
    points: list[Point] = []
    for swap in r.swaps or ():
        for state, value in (("used", swap.used), ("free", max(swap.size - swap.used, 0))):
            attrs = (("system.device", swap.device), ("system.paging.state", state))
            points.append(Point("system.paging.usage", attrs, value))
            points.append(Point("system.paging.utilization", attrs, value / swap.size if swap.size else 0.0))
    p = r.paging
    if p is not None:
        operations = (
            ("in", "major", p.swap_in),
            ("out", "major", p.swap_out),
            ("in", "minor", p.page_in),
            ("out", "minor", p.page_out),
        )
        for direction, kind, value in operations:
            attrs = (("system.paging.direction", direction), ("system.paging.fault.type", kind))
            points.append(Point("system.paging.operations", attrs, value))
        points.append(Point("system.paging.faults", (("system.paging.fault.type", "major"),), p.faults_major))
        points.append(Point("system.paging.faults", (("system.paging.fault.type", "minor"),), p.faults_minor))
    return points
