"""Scenario timelines (pure): phases of steps at offsets, a pausable clock, time compression."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Step:
    """Start one action `at` seconds into the scenario."""

    at: float
    kind: str
    params: Mapping[str, Any]


@dataclass(frozen=True)
class Phase:
    """A named stretch of the timeline; its steps start at `at` + their offsets."""

    at: float
    name: str
    description: str
    steps: tuple[Step, ...]


@dataclass(frozen=True)
class Scenario:
    """A named load story with the alerts it should trigger."""

    id: str
    name: str
    description: str
    duration: float
    phases: tuple[Phase, ...]
    expected_alerts: tuple[str, ...]

    def steps(self) -> list[Step]:
        """Every step, in start order."""
        return sorted((s for p in self.phases for s in p.steps), key=lambda s: s.at)


def due_steps(scenario: Scenario, before: float, now: float) -> list[Step]:
    """Steps whose start lies in [before, now): consecutive windows fire every step exactly once."""
    return [s for s in scenario.steps() if before <= s.at < now]


def phase_at(scenario: Scenario, elapsed: float) -> Phase | None:
    """The phase in force `elapsed` seconds into the scenario."""
    current = None
    for phase in sorted(scenario.phases, key=lambda p: p.at):
        if phase.at <= elapsed:
            current = phase
    return current


def scale_params(params: Mapping[str, Any], speed: float) -> dict[str, Any]:
    """Compress an action's duration by `speed` (at least 1 s so short steps stay visible)."""
    scaled = dict(params)
    if "duration_seconds" in scaled:
        scaled["duration_seconds"] = max(1.0, float(scaled["duration_seconds"]) / speed)
    return scaled


class TimelineClock:
    """Scenario time: wall time since start, excluding pauses, multiplied by `speed`."""

    def __init__(self, started: float, speed: float = 1.0) -> None:
        self.speed = speed
        self._started = started
        self._paused_at: float | None = None
        self._paused_total = 0.0

    @property
    def paused(self) -> bool:
        """Whether the clock is stopped."""
        return self._paused_at is not None

    def pause(self, now: float) -> None:
        """Stop the clock (idempotent)."""
        if self._paused_at is None:
            self._paused_at = now

    def resume(self, now: float) -> None:
        """Restart the clock (idempotent)."""
        if self._paused_at is not None:
            self._paused_total += now - self._paused_at
            self._paused_at = None

    def elapsed(self, now: float) -> float:
        """Scenario seconds passed."""
        end = self._paused_at if self._paused_at is not None else now
        return max(0.0, end - self._started - self._paused_total) * self.speed
