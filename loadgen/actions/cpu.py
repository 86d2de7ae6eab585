"""CPU stress: one process per core (the GIL), each holding a duty cycle timed on its own CPU clock."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from typing import ClassVar

from loadgen.actions import workers
from loadgen.actions.base import Action, ActionEnv
from loadgen.actions.dutycycle import utilisation_percent
from loadgen.budget import Reservation
from loadgen.validation import CpuStressRequest

REPORT_INTERVAL = 0.5


def available_cores() -> int:
    """Cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


class CpuStress(Action):
    """Holds `target_percent` on `cores` cores for `duration_seconds`; achieved CPU is read from the workers."""

    kind: ClassVar[str] = "cpu-stress"

    def __init__(self, request: CpuStressRequest, env: ActionEnv) -> None:
        super().__init__()
        self.target = request.target_percent
        self.duration = request.duration_seconds
        self.cores = request.cores or available_cores()
        self._report(0.0, target_percent=self.target, achieved_percent=0.0, mean_percent=0.0, cores=float(self.cores))

    @property
    def expected_seconds(self) -> float:
        return self.duration

    def reservation(self) -> Reservation:
        return Reservation(cpu_cores=self.cores * self.target / 100.0)

    def run(self, stop: threading.Event) -> None:
        args = (f"{self.target}", f"{self.duration}")
        started = time.monotonic()
        procs: list[subprocess.Popen[str]] = []
        try:
            procs = [workers.spawn("loadgen.actions.cpu_worker", args) for _ in range(self.cores)]
            self._watch(stop, started, procs)
        finally:
            workers.stop(procs)

    def _watch(self, stop: threading.Event, started: float, procs: list[subprocess.Popen[str]]) -> None:
        last_t, last_cpu = time.monotonic(), workers.cpu_seconds(procs)
        first_t, first_cpu = last_t, last_cpu
        while not stop.wait(REPORT_INTERVAL):
            now, cpu = time.monotonic(), workers.cpu_seconds(procs)
            self._report(
                (now - started) / self.duration,
                achieved_percent=round(utilisation_percent(cpu - last_cpu, now - last_t, self.cores), 2),
                mean_percent=round(utilisation_percent(cpu - first_cpu, now - first_t, self.cores), 2),
            )
            last_t, last_cpu = now, cpu
            if now - started >= self.duration or all(p.poll() is not None for p in procs):
                self._report(progress=1.0)
                return
