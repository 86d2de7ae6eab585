"""The CPU burner run as `python -m loadgen.actions.cpu_worker TARGET DURATION`, one process per core.

Kept free of Flask, pydantic and OpenTelemetry imports so it starts in tens of milliseconds.
Stops at the deadline, on SIGTERM, or when its parent goes away.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from types import FrameType

from loadgen.actions.dutycycle import DutyCycle

SLICE_CPU_SECONDS = 0.02
LONGEST_SLEEP = 0.2


class _Flag:
    stop = False


def _on_term(_signum: int, _frame: FrameType | None) -> None:
    _Flag.stop = True


def _spin(until_cpu: float) -> None:
    x = 1.0001
    while time.thread_time() < until_cpu:
        for _ in range(200):
            x = x * 1.0000001 % 7.0


def burn(target_percent: float, duration: float, should_stop: type[_Flag] = _Flag) -> None:
    """Hold this thread's CPU at `target_percent` for `duration` seconds (or until told to stop)."""
    cycle = DutyCycle(target_percent)
    deadline = time.monotonic() + duration
    parent = os.getppid()
    while time.monotonic() < deadline and not should_stop.stop and os.getppid() == parent:
        c0, w0 = time.thread_time(), time.perf_counter()
        _spin(c0 + SLICE_CPU_SECONDS)
        wanted = cycle.next_sleep(time.thread_time() - c0, time.perf_counter() - w0)
        s0 = time.perf_counter()
        remaining = wanted
        while remaining > 0 and not should_stop.stop:
            time.sleep(min(remaining, LONGEST_SLEEP))
            remaining = wanted - (time.perf_counter() - s0)
        cycle.observe_sleep(wanted, time.perf_counter() - s0)


def main(argv: list[str] | None = None) -> int:
    """Entry point: TARGET_PERCENT DURATION_SECONDS."""
    args = sys.argv[1:] if argv is None else argv
    signal.signal(signal.SIGTERM, _on_term)
    burn(float(args[0]), float(args[1]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
