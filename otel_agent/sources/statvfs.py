"""statvfs in worker threads with a deadline, so a hung mount (stuck NFS) never blocks a cycle."""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Iterable

from otel_agent.models import FilesystemReading

_log = logging.getLogger(__name__)
MAX_WORKERS = 8
StatFn = Callable[[str], os.statvfs_result]


class _Batch:
    def __init__(self, expected: int) -> None:
        self.expected = expected
        self.results: dict[str, os.statvfs_result | None] = {}
        self.cond = threading.Condition()

    def done(self, path: str, result: os.statvfs_result | None) -> None:
        with self.cond:
            self.results[path] = result
            if len(self.results) >= self.expected:
                self.cond.notify_all()


class StatvfsPool:
    """Runs statvfs on daemon workers; a path whose call is still running is skipped, not re-queued."""

    def __init__(self, timeout: float, workers: int = 2, stat: StatFn = os.statvfs) -> None:
        self.timeout = timeout
        self.workers = workers
        self._stat = stat
        self._jobs: queue.SimpleQueue[tuple[str, _Batch]] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._in_flight: set[str] = set()
        self._threads = 0
        self._busy = 0

    @property
    def stuck(self) -> frozenset[str]:
        """Paths whose statvfs call has not returned yet."""
        with self._lock:
            return frozenset(self._in_flight)

    def stat_many(self, paths: Iterable[str]) -> dict[str, os.statvfs_result]:
        """statvfs every path, waiting at most `timeout`; paths that fail or hang are left out."""
        with self._lock:
            todo = [p for p in dict.fromkeys(paths) if p not in self._in_flight]
            self._in_flight.update(todo)
            idle = self._threads - self._busy
            spawn = min(max(self.workers - idle, 0), MAX_WORKERS - self._threads)
            self._threads += spawn
        for _ in range(spawn):
            threading.Thread(target=self._work, name="otel-agent-statvfs", daemon=True).start()
        batch = _Batch(len(todo))
        for path in todo:
            self._jobs.put((path, batch))
        deadline = time.monotonic() + self.timeout
        with batch.cond:
            while len(batch.results) < len(todo):
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                batch.cond.wait(left)
            results = dict(batch.results)
        late = [p for p in todo if p not in results]
        if late:
            _log.warning("statvfs did not answer within %.1fs for %s; skipped until it returns", self.timeout, late)
        return {p: r for p, r in results.items() if r is not None}

    def _work(self) -> None:
        while True:
            path, batch = self._jobs.get()
            with self._lock:
                self._busy += 1
            result: os.statvfs_result | None
            try:
                result = self._stat(path)
            except OSError:
                result = None
            with self._lock:
                self._busy -= 1
                self._in_flight.discard(path)
            batch.done(path, result)


def filesystem_reading(
    device: str, mountpoint: str, fstype: str, options: str, st: os.statvfs_result | None
) -> FilesystemReading | None:
    """One mount's reading from its statvfs result; None for a hung mount or a pseudo-fs with no blocks."""
    if st is None or st.f_blocks == 0:
        return None
    mode = "ro" if "ro" in options.split(",") else "rw"
    return FilesystemReading(
        device,
        mountpoint,
        fstype,
        mode,
        st.f_blocks * st.f_frsize,
        st.f_bfree * st.f_frsize,
        st.f_bavail * st.f_frsize,
        st.f_files,
        st.f_ffree,
    )
