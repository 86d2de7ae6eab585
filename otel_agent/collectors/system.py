"""Process counts, uptime and the optional top-N per-process points."""

from __future__ import annotations

from otel_agent.models import Point, Readings


def system_points(r: Readings) -> list[Point]:
    points: list[Point] = []
    if r.processes is not None:
        points.append(Point("system.process.count", (("process.state", "running"),), r.processes.running))
        points.append(Point("system.process.count", (("process.state", "blocked"),), r.processes.blocked))
        for state, count in r.processes.states or ():
            points.append(Point("system.process.count", (("process.state", state),), count))
        if r.processes.created is not None:
            points.append(Point("system.process.created", (), r.processes.created))
    if r.uptime is not None:
        points.append(Point("system.uptime", (), r.uptime))
    return points


def top_process_points(r: Readings) -> list[Point]:
    points: list[Point] = []
    for p in r.top_processes or ():
        ident = (("process.executable.name", p.name), ("process.pid", p.pid))
        start_ns = int(p.create_time * 1e9)
        points += (
            Point("process.cpu.time", (("cpu.mode", "user"), *ident), p.cpu_user, start_ns),
            Point("process.cpu.time", (("cpu.mode", "system"), *ident), p.cpu_system, start_ns),
            Point("process.memory.usage", ident, p.rss),
            Point("process.memory.virtual", ident, p.vms),
            Point("process.thread.count", ident, p.threads),
        )
    return points
