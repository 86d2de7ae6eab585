"""Admission control: one budget shared by every running action."""

from __future__ import annotations

import pytest

from loadgen.budget import MIB, Budget, Reservation, check_admission, memory_budget
from loadgen.exceptions import AdmissionRefused

BUDGET = Budget(cpu_cores=2.0, memory_bytes=1000 * MIB, traffic_rate=2000.0, actions=3)


@pytest.mark.parametrize(
    ("running", "new"),
    [
        ([], Reservation(cpu_cores=2.0)),
        ([Reservation(cpu_cores=1.0)], Reservation(cpu_cores=1.0)),
        ([Reservation(memory_bytes=600 * MIB)], Reservation(memory_bytes=400 * MIB)),
        ([Reservation(traffic_rate=1500)], Reservation(traffic_rate=500)),
        ([Reservation(cpu_cores=2.0), Reservation(memory_bytes=MIB)], Reservation()),
    ],
)
def test_admits_work_within_budget(running: list[Reservation], new: Reservation) -> None:
    check_admission(BUDGET, running, new)


@pytest.mark.parametrize(
    ("running", "new", "field"),
    [
        ([Reservation(cpu_cores=1.5)], Reservation(cpu_cores=0.6), "target_percent"),
        ([Reservation(memory_bytes=600 * MIB)], Reservation(memory_bytes=401 * MIB), "size_mb"),
        ([Reservation(traffic_rate=1500)], Reservation(traffic_rate=501), "requests_per_sec"),
        ([Reservation(), Reservation(), Reservation()], Reservation(), "max_concurrent_actions"),
    ],
)
def test_refuses_work_that_crosses_the_budget(running: list[Reservation], new: Reservation, field: str) -> None:
    with pytest.raises(AdmissionRefused) as info:
        check_admission(BUDGET, running, new)
    assert info.value.field == field
    assert info.value.status == 409


def test_refusal_message_names_what_is_left() -> None:
    with pytest.raises(AdmissionRefused, match="400 MiB left of the 1000 MiB allowed"):
        check_admission(BUDGET, [Reservation(memory_bytes=600 * MIB)], Reservation(memory_bytes=500 * MIB))


def test_memory_budget_counts_what_actions_already_hold() -> None:
    # 600 MiB available now plus 400 MiB our actions already hold: half of 1000 MiB
    assert memory_budget(0.5, 600 * MIB, 400 * MIB) == 500 * MIB
