"""Disk and filesystem points."""

from __future__ import annotations

from otel_agent.collectors.filters import Filters
from otel_agent.models import Point, Readings


def disk_points(r: Readings, filters: Filters) -> list[Point]:
    points: list[Point] = []
    for d in r.disks or ():
        if not filters.disk(d.device):
            continue
        dev = ("system.device", d.device)
        read, write = (dev, ("disk.io.direction", "read")), (dev, ("disk.io.direction", "write"))
        points += (
            Point("system.disk.io", read, d.read_bytes),
            Point("system.disk.io", write, d.write_bytes),
            Point("system.disk.operations", read, d.reads),
            Point("system.disk.operations", write, d.writes),
            Point("system.disk.operation_time", read, d.read_time),
            Point("system.disk.operation_time", write, d.write_time),
            Point("system.disk.merged", read, d.read_merged),
            Point("system.disk.merged", write, d.write_merged),
            Point("system.disk.io_time", (dev,), d.io_time),
        )
    return points


def filesystem_points(r: Readings, filters: Filters) -> list[Point]:
    points: list[Point] = []
    for fs in r.filesystems or ():
        if not filters.mount(fs.mountpoint, fs.fstype):
            continue
        base = (
            ("system.device", fs.device),
            ("system.filesystem.mode", fs.mode),
            ("system.filesystem.mountpoint", fs.mountpoint),
            ("system.filesystem.type", fs.fstype),
        )
        used = max(fs.total - fs.free, 0)
        reserved = max(fs.free - fs.avail, 0)
        points.append(Point("system.filesystem.limit", base, fs.total))
        for state, value in (("used", used), ("free", fs.avail), ("reserved", reserved)):
            attrs = (*base, ("system.filesystem.state", state))
            points.append(Point("system.filesystem.usage", attrs, value))
            points.append(Point("system.filesystem.utilization", attrs, value / fs.total if fs.total else 0.0))
        if fs.inodes_total:
            inodes = (("used", max(fs.inodes_total - fs.inodes_free, 0)), ("free", fs.inodes_free))
            for state, value in inodes:
                points.append(
                    Point("system.filesystem.inodes.usage", (*base, ("system.filesystem.state", state)), value)
                )
    return points
