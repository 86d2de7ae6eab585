"""Memory leak: real, touched pages grown over steps, held, released on stop."""

from __future__ import annotations

import mmap
import threading
import time
from collections.abc import Callable
from typing import ClassVar

import psutil

from loadgen.actions.base import Action, ActionEnv
from loadgen.budget import MIB, Reservation
from loadgen.validation import MemoryLeakRequest

PAGE = 4096
CHUNK = 32 * MIB
OOM_FLOOR_SHARE = 0.025


def touched_block(nbytes: int) -> mmap.mmap:
    """A block whose every page has been written, so it is resident and not a shared zero page.

    Its own anonymous mapping, so closing it gives the pages back to the OS at once. Buffers from the
    allocator's heap stay in the process after they are freed (glibc raises its mmap threshold after the
    first large free), which left several hundred MiB behind after a surge.
    """
    block = mmap.mmap(-1, nbytes, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    block[::PAGE] = b"\x01" * len(range(0, nbytes, PAGE))
    return block


def step_sizes(total: int, steps: int) -> list[int]:
    """Split `total` bytes into `steps` near-equal parts."""
    base, rest = divmod(total, steps)
    return [base + (1 if i < rest else 0) for i in range(steps)]


def _memory_low() -> bool:
    vm = psutil.virtual_memory()
    return vm.available < OOM_FLOOR_SHARE * vm.total


class MemoryLeak(Action):
    """Allocates `size_mb` in `steps` over the first half of `duration_seconds`, then holds it."""

    kind: ClassVar[str] = "memory-leak"

    def __init__(
        self, request: MemoryLeakRequest, env: ActionEnv, memory_low: Callable[[], bool] = _memory_low
    ) -> None:
        super().__init__()
        self.size = request.size_mb * MIB
        self.duration = request.duration_seconds
        self.steps = request.steps
        self._memory_low = memory_low
        self._blocks: list[mmap.mmap] = []
        self._report(0.0, target_bytes=float(self.size), allocated_bytes=0.0)

    @property
    def expected_seconds(self) -> float:
        return self.duration

    def reservation(self) -> Reservation:
        return Reservation(memory_bytes=self.size)

    def allocated(self) -> int:
        """Bytes held right now."""
        return sum(len(b) for b in self._blocks)

    def run(self, stop: threading.Event) -> None:
        started = time.monotonic()
        interval = self.duration / 2 / self.steps
        try:
            for index, size in enumerate(step_sizes(self.size, self.steps)):
                if not self._grow(size, stop):
                    break
                self._tick(started)
                if stop.wait(max(0.0, started + (index + 1) * interval - time.monotonic())):
                    return
            while not stop.wait(max(0.0, min(0.5, started + self.duration - time.monotonic()))):
                if self._tick(started) >= 1.0:
                    return
        finally:
            held = self.allocated()
            for block in self._blocks:
                block.close()
            self._blocks.clear()
            self._report(allocated_bytes=0.0, released_bytes=float(held))

    def _grow(self, size: int, stop: threading.Event) -> bool:
        while size > 0 and not stop.is_set():
            if self._memory_low():
                self._report(oom_avoided=1.0)
                return False
            part = min(CHUNK, size)
            self._blocks.append(touched_block(part))
            size -= part
            self._report(allocated_bytes=float(self.allocated()))
        return not stop.is_set()

    def _tick(self, started: float) -> float:
        progress = min(1.0, (time.monotonic() - started) / self.duration)
        self._report(progress)
        return progress
