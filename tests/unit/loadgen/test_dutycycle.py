"""The CPU duty cycle: stress-ng's sleep formula, checked on a simulated worker."""

from __future__ import annotations

import pytest

from loadgen.actions.dutycycle import DutyCycle, sleep_after_slice, utilisation_percent


@pytest.mark.parametrize(
    ("target", "busy_cpu", "busy_wall", "bias", "expected"),
    [
        (50, 0.02, 0.02, 0.0, 0.02),  # half duty: sleep as long as the slice
        (25, 0.02, 0.02, 0.0, 0.06),
        (90, 0.02, 0.02, 0.0, 0.02 / 9),
        (50, 0.02, 0.03, 0.0, 0.01),  # preempted for 10 ms: sleep 10 ms less
        (50, 0.02, 0.02, 0.001, 0.019),  # last sleep overshot by 1 ms
        (50, 0.02, 0.06, 0.0, 0.0),  # heavy contention: never a negative sleep
        (100, 0.02, 0.02, 0.0, 0.0),
    ],
)
def test_sleep_after_slice(target: float, busy_cpu: float, busy_wall: float, bias: float, expected: float) -> None:
    assert sleep_after_slice(target, busy_cpu, busy_wall, bias) == pytest.approx(expected)


def simulate(target: float, overshoot: float, steal: float = 0.0, cycles: int = 2000) -> float:
    """Run the loop against a model machine: each sleep lasts `overshoot` s longer than asked and each
    busy slice loses `steal` of its wall time to other processes. Returns achieved CPU percent."""
    cycle = DutyCycle(target)
    cpu = wall = 0.0
    for _ in range(cycles):
        busy_cpu = 0.02
        busy_wall = busy_cpu / (1 - steal)
        wanted = cycle.next_sleep(busy_cpu, busy_wall)
        slept = wanted + overshoot if wanted > 0 else 0.0
        cycle.observe_sleep(wanted, slept)
        cpu += busy_cpu
        wall += busy_wall + slept
    return utilisation_percent(cpu, wall, 1)


@pytest.mark.parametrize("target", [10, 25, 50, 75, 90, 95])
def test_overshoot_correction_holds_target(target: float) -> None:
    assert simulate(target, overshoot=0.0005) == pytest.approx(target, abs=1.0)


@pytest.mark.parametrize("target", [10, 25, 50, 75, 90, 95])
def test_without_correction_the_sleep_overshoot_drags_targets_down(target: float) -> None:
    cycle_cpu, overshoot = 0.02, 0.0005
    uncorrected = 100 * cycle_cpu / (cycle_cpu / (target / 100) + overshoot)
    corrected = simulate(target, overshoot)
    assert abs(corrected - target) < abs(uncorrected - target)


@pytest.mark.parametrize("target", [25, 40])
def test_contention_shortens_sleep_so_the_share_is_kept(target: float) -> None:
    # a third of every busy slice is stolen by another process; achieved CPU per wall second stays on target
    assert simulate(target, overshoot=0.0, steal=0.33) == pytest.approx(target, abs=1.0)


def test_utilisation_percent() -> None:
    assert utilisation_percent(3.0, 2.0, 2) == pytest.approx(75.0)
    assert utilisation_percent(1.0, 0.0, 2) == 0.0
