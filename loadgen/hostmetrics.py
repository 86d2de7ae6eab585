"""A host snapshot for the control page: CPU, memory, disk and network from psutil, sampled once a second."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any

import psutil

from loadgen.events import iso, utc_now

INTERVAL = 1.0


class HostSampler:
    """Keeps the latest snapshot; CPU percentages cover the last sampling interval."""

    def __init__(self, extra: Callable[[], dict[str, float]] = dict, interval: float = INTERVAL) -> None:
        self._extra = extra
        self._interval = interval
        self._lock = threading.Lock()
        self._cpu_total = psutil.cpu_percent(interval=None)
        self._cpu_cores: list[float] = psutil.cpu_percent(interval=None, percpu=True)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Sample in a background thread."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="loadgen-host-sampler", daemon=True)
            self._thread.start()

    def close(self) -> None:
        """Stop sampling."""
        self._stop.set()

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            self.sample_cpu()

    def sample_cpu(self) -> None:
        """Measure CPU since the previous call."""
        total = psutil.cpu_percent(interval=None)
        cores = psutil.cpu_percent(interval=None, percpu=True)
        with self._lock:
            self._cpu_total, self._cpu_cores = total, cores

    def snapshot(self) -> dict[str, Any]:
        """The `HostMetrics` body."""
        vm = psutil.virtual_memory()
        disk = psutil.disk_io_counters()
        net = psutil.net_io_counters()
        with self._lock:
            total, cores = self._cpu_total, list(self._cpu_cores)
        return {
            "timestamp": iso(utc_now()),
            "cpu_percent": total,
            "cpu_per_core": cores,
            "load_average": list(os.getloadavg()),
            "memory_total_bytes": vm.total,
            "memory_used_bytes": vm.used,
            "memory_available_bytes": vm.available,
            "memory_percent": vm.percent,
            "disk_read_bytes": disk.read_bytes if disk else 0,
            "disk_write_bytes": disk.write_bytes if disk else 0,
            "net_sent_bytes": net.bytes_sent if net else 0,
            "net_recv_bytes": net.bytes_recv if net else 0,
            "loadgen": self._extra(),
        }
