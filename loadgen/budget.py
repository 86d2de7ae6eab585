"""The shared resource budget: admission control over every running action (pure)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from loadgen.exceptions import AdmissionRefused

MIB = 1024 * 1024


@dataclass(frozen=True)
class Reservation:
    """What one action may use at most: CPU in core units, memory in bytes, traffic in requests/s."""

    cpu_cores: float = 0.0
    memory_bytes: int = 0
    traffic_rate: float = 0.0


@dataclass(frozen=True)
class Budget:
    """Limits shared by all running actions."""

    cpu_cores: float
    memory_bytes: int
    traffic_rate: float
    actions: int


def memory_budget(share: float, available_bytes: int, held_bytes: int) -> int:
    """Bytes all memory actions may hold: a share of what is available plus what they already hold."""
    return int(share * (available_bytes + held_bytes))


def check_admission(budget: Budget, running: Iterable[Reservation], new: Reservation) -> None:
    """Raise `AdmissionRefused` when adding `new` to `running` would cross `budget`."""
    running = list(running)
    if len(running) + 1 > budget.actions:
        raise AdmissionRefused(
            f"{len(running)} actions are running and the limit is {budget.actions}; stop one or wait",
            field="max_concurrent_actions",
            value=len(running) + 1,
        )
    used_cpu = sum(r.cpu_cores for r in running)
    if new.cpu_cores and used_cpu + new.cpu_cores > budget.cpu_cores + 1e-9:
        raise AdmissionRefused(
            f"CPU budget: running actions hold {used_cpu:.2f} of {budget.cpu_cores:.0f} cores and this one asks "
            f"for {new.cpu_cores:.2f}; lower target_percent or cores, or stop a CPU action",
            field="target_percent",
            value=new.cpu_cores,
        )
    used_mem = sum(r.memory_bytes for r in running)
    if new.memory_bytes and used_mem + new.memory_bytes > budget.memory_bytes:
        free_mb = max(0, budget.memory_bytes - used_mem) // MIB
        raise AdmissionRefused(
            f"memory budget: {new.memory_bytes // MIB} MiB asked, {free_mb} MiB left of the "
            f"{budget.memory_bytes // MIB} MiB allowed; lower size_mb or stop a memory action",
            field="size_mb",
            value=new.memory_bytes // MIB,
        )
    used_rate = sum(r.traffic_rate for r in running)
    if new.traffic_rate and used_rate + new.traffic_rate > budget.traffic_rate + 1e-9:
        raise AdmissionRefused(
            f"traffic budget: {used_rate:g} req/s running plus {new.traffic_rate:g} asked exceeds the cap of "
            f"{budget.traffic_rate:g} req/s; lower requests_per_sec or stop a traffic action",
            field="requests_per_sec",
            value=new.traffic_rate,
        )
