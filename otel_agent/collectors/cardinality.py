"""A cap on distinct attribute sets per metric, so a churning device list cannot flood the backend."""

from __future__ import annotations

from otel_agent.models import Attrs, Point

FORGET_AFTER_CYCLES = 30


class CardinalityGuard:
    """Admits at most `limit` series per metric; a series unseen for a while frees its slot."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._seen: dict[str, dict[Attrs, int]] = {}
        self._cycle = 0

    def apply(self, points: list[Point]) -> tuple[list[Point], int]:
        """Return the admitted points and how many were dropped."""
        self._cycle += 1
        cycle, limit, seen = self._cycle, self.limit, self._seen
        kept: list[Point] = []
        dropped = 0
        for p in points:
            series = seen.get(p.name)
            if series is None:
                series = seen[p.name] = {}
            if p.attrs in series or len(series) < limit:
                series[p.attrs] = cycle
                kept.append(p)
            else:
                dropped += 1
        if cycle % FORGET_AFTER_CYCLES == 0:
            self._forget(cycle - FORGET_AFTER_CYCLES)
        return kept, dropped

    def _forget(self, before: int) -> None:
        for series in self._seen.values():
            for attrs in [a for a, last in series.items() if last <= before]:
                del series[attrs]
