"""Top-N processes by recent CPU or by memory, read through psutil (opt-in: a scan costs per process)."""

from __future__ import annotations

import re

import psutil

from otel_agent.models import ProcessReading

SORT_KEYS = ("cpu", "memory")


class TopProcesses:
    """Picks the N busiest processes whose name passes the include/exclude patterns."""

    def __init__(self, top_n: int, sort_by: str = "cpu", include: str | None = None, exclude: str | None = None):
        self.top_n = top_n
        self.sort_by = sort_by
        self._include = re.compile(include) if include else None
        self._exclude = re.compile(exclude) if exclude else None
        self._last_cpu: dict[tuple[int, float], float] = {}

    def _wanted(self, name: str) -> bool:
        if self._include is not None and not self._include.search(name):
            return False
        return self._exclude is None or not self._exclude.search(name)

    def read(self) -> list[ProcessReading]:
        rows: list[tuple[float, ProcessReading]] = []
        last, now_cpu = self._last_cpu, {}
        attrs = ["name", "cmdline", "cpu_times", "memory_info", "num_threads", "create_time"]
        for proc in psutil.process_iter(attrs):
            info = proc.info
            name = info.get("name") or ""
            if info.get("cpu_times") is None or info.get("memory_info") is None or not self._wanted(name):
                continue
            cpu = info["cpu_times"].user + info["cpu_times"].system
            key = (proc.pid, info["create_time"] or 0.0)
            now_cpu[key] = cpu
            reading = ProcessReading(
                pid=proc.pid,
                name=name,
                command=" ".join(info.get("cmdline") or [])[:256],
                cpu_user=info["cpu_times"].user,
                cpu_system=info["cpu_times"].system,
                rss=info["memory_info"].rss,
                vms=info["memory_info"].vms,
                threads=info.get("num_threads") or 0,
                create_time=info["create_time"] or 0.0,
            )
            score = cpu - last.get(key, 0.0) if self.sort_by == "cpu" else float(reading.rss)
            rows.append((score, reading))
        self._last_cpu = now_cpu
        rows.sort(key=lambda row: row[0], reverse=True)
        return [reading for _, reading in rows[: self.top_n]]
