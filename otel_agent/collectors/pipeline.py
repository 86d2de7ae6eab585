"""Readings in, data points out: every collector, the filters, the naming dialect and the cardinality cap."""

from __future__ import annotations

from otel_agent.collectors.cardinality import CardinalityGuard
from otel_agent.collectors.cpu import CpuCollector
from otel_agent.collectors.filters import Filters
from otel_agent.collectors.kernel import activity_points, link_points, protocol_points
from otel_agent.collectors.memory import memory_points, paging_points
from otel_agent.collectors.naming import HOSTMETRICS, SEMCONV, to_hostmetrics
from otel_agent.collectors.network import network_points
from otel_agent.collectors.storage import disk_points, filesystem_points
from otel_agent.collectors.system import system_points, top_process_points
from otel_agent.models import Point, Readings


class Pipeline:
    """Builds one cycle's points from one cycle's readings (pure apart from its own delta state)."""

    def __init__(self, filters: Filters | None = None, naming: str = SEMCONV, cardinality_limit: int = 1000) -> None:
        self.filters = filters or Filters()
        self.naming = naming
        self._cpu = CpuCollector()
        self._guard = CardinalityGuard(cardinality_limit)

    def build(self, r: Readings) -> tuple[list[Point], int]:
        """Return the points of a cycle and the number dropped by the cardinality cap."""
        f = self.filters
        points = self._cpu.collect(r)
        points += memory_points(r)
        points += paging_points(r)
        points += disk_points(r, f)
        points += filesystem_points(r, f)
        points += network_points(r, f)
        points += link_points(r, f)
        points += protocol_points(r)
        points += system_points(r)
        points += activity_points(r)
        points += top_process_points(r)
        if self.naming == HOSTMETRICS:
            points = to_hostmetrics(points)
        return self._guard.apply(points)
