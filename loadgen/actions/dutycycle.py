"""Duty-cycle math for the CPU action (pure): stress-ng's sleep formula with overshoot correction."""

from __future__ import annotations

from dataclasses import dataclass

BIAS_LIMIT = 0.005


def sleep_after_slice(target_percent: float, busy_cpu: float, busy_wall: float, bias: float) -> float:
    """Seconds to sleep after a busy slice so that CPU time / wall time equals `target_percent`.

    `busy_cpu` is the slice's thread CPU time and `busy_wall` its wall time; when the slice was preempted
    (wall > cpu) the sleep shrinks by the difference, so the worker still gets its share under contention.
    `bias` is how much the previous sleep overshot.
    """
    if target_percent >= 100:
        return 0.0
    fraction = target_percent / 100.0
    sleep = (1.0 - fraction) / fraction * busy_cpu + (busy_cpu - busy_wall) - bias
    return max(0.0, sleep)


@dataclass
class DutyCycle:
    """Per-worker state: the target and the running overshoot bias."""

    target_percent: float
    bias: float = 0.0

    def next_sleep(self, busy_cpu: float, busy_wall: float) -> float:
        """Sleep to request after a slice."""
        return sleep_after_slice(self.target_percent, busy_cpu, busy_wall, self.bias)

    def observe_sleep(self, requested: float, actual: float) -> None:
        """Remember how much the sleep overshot (bounded, so one long stall cannot starve the next cycles)."""
        if requested <= 0:
            return
        self.bias = min(BIAS_LIMIT, max(-BIAS_LIMIT, actual - requested))


def utilisation_percent(cpu_seconds: float, wall_seconds: float, workers: int) -> float:
    """Mean utilisation of `workers` cores given their summed CPU time over `wall_seconds`."""
    if wall_seconds <= 0 or workers <= 0:
        return 0.0
    return 100.0 * cpu_seconds / (wall_seconds * workers)
