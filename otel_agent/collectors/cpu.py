"""CPU points: time and utilization per mode and core, counts, frequency, load averages."""

from __future__ import annotations

from otel_agent.models import Point, Readings


class CpuCollector:
    """Turns CPU readings into points; remembers the previous times to compute utilization."""

    def __init__(self) -> None:
        self._previous: list[dict[str, float]] | None = None

    def collect(self, r: Readings) -> list[Point]:
        points: list[Point] = []
        if r.cpu_times is not None:
            points += self._times(r.cpu_times)
            points.append(Point("system.cpu.logical.count", (), len(r.cpu_times)))
        if r.cpu_physical_count is not None:
            points.append(Point("system.cpu.physical.count", (), r.cpu_physical_count))
        if r.cpu_freq_hz is not None:
            points += [
                Point("system.cpu.frequency", (("cpu.logical_number", n),), hz) for n, hz in enumerate(r.cpu_freq_hz)
            ]
        if r.load_average is not None:
            one, five, fifteen = r.load_average
            points.append(Point("system.cpu.load_average.1m", (), one))
            points.append(Point("system.cpu.load_average.5m", (), five))
            points.append(Point("system.cpu.load_average.15m", (), fifteen))
        return points

    def _times(self, times: list[dict[str, float]]) -> list[Point]:
        points: list[Point] = []
        previous = self._previous if self._previous is not None and len(self._previous) == len(times) else None
        for n, modes in enumerate(times):
            before = previous[n] if previous is not None else {}
            deltas = {mode: max(value - before.get(mode, 0.0), 0.0) for mode, value in modes.items()}
            total = sum(deltas.values())
            for mode, value in modes.items():
                attrs = (("cpu.mode", mode), ("cpu.logical_number", n))
                points.append(Point("system.cpu.time", attrs, value))
                # The first cycle has no previous reading: its utilization is the average since boot.
                points.append(Point("system.cpu.utilization", attrs, deltas[mode] / total if total > 0 else 0.0))
        self._previous = times
        return points
