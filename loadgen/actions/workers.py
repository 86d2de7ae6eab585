"""Start and stop worker subprocesses (`python -m ...`): no re-import of the parent's main module."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Sequence

import psutil

STOP_TIMEOUT = 0.6


def spawn(
    module: str, args: Sequence[str], *, capture: bool = False, stdin: str | None = None
) -> subprocess.Popen[str]:
    """Run `python -m module args...` with this interpreter; `stdin` (if any) is written to it and closed.

    Settings of unbounded size go through `stdin`: argv is limited by the kernel (E2BIG).
    """
    proc = subprocess.Popen(
        [sys.executable, "-m", module, *args],
        stdin=subprocess.DEVNULL if stdin is None else subprocess.PIPE,
        stdout=subprocess.PIPE if capture else subprocess.DEVNULL,
        stderr=None,
        text=True,
    )
    if stdin is not None and proc.stdin is not None:
        with proc.stdin:
            proc.stdin.write(stdin)
    return proc


def cpu_seconds(procs: Sequence[subprocess.Popen[str]]) -> float:
    """User + system CPU time consumed so far by live `procs`."""
    total = 0.0
    for proc in procs:
        try:
            times = psutil.Process(proc.pid).cpu_times()
        except psutil.Error:
            continue
        total += times.user + times.system
    return total


def stop(procs: Sequence[subprocess.Popen[str]], timeout: float = STOP_TIMEOUT) -> None:
    """SIGTERM, wait briefly, then SIGKILL whatever is left."""
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
    deadline = time.monotonic() + timeout
    for proc in procs:
        try:
            proc.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(1.0)
