"""Readings through psutil, for macOS, Windows and other hosts without a Linux /proc."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from typing import Any, TypeVar

import psutil

from otel_agent.collectors.filters import Filters, one_mount_per_device
from otel_agent.models import (
    DiskReading,
    FilesystemReading,
    LinkReading,
    MemoryReading,
    MountReading,
    NetReading,
    PagingReading,
    ProcessCounts,
    Readings,
    SwapReading,
)
from otel_agent.sources.procparse import SCANNED_STATES
from otel_agent.sources.statvfs import StatvfsPool, filesystem_reading

_log = logging.getLogger(__name__)
_PSUTIL_STATES = {
    psutil.STATUS_RUNNING: "running",
    psutil.STATUS_DISK_SLEEP: "blocked",
    psutil.STATUS_SLEEPING: "sleeping",
    psutil.STATUS_IDLE: "sleeping",
    psutil.STATUS_STOPPED: "stopped",
    psutil.STATUS_TRACING_STOP: "stopped",
    psutil.STATUS_ZOMBIE: "defunct",
}
T = TypeVar("T")


def _try(what: str, fn: Callable[[], T]) -> T | None:
    """A reading this platform lacks (or denies) is skipped, never fatal."""
    try:
        return fn()
    except (NotImplementedError, AttributeError, OSError, psutil.Error, RuntimeError) as exc:
        _log.debug("skipping %s: %s", what, exc)
        return None


def _cpu_modes(t: Any) -> dict[str, float]:
    modes = {"user": t.user, "system": t.system, "idle": t.idle}
    for field, mode in (("nice", "nice"), ("iowait", "iowait"), ("steal", "steal")):
        if hasattr(t, field):
            modes[mode] = getattr(t, field)
    interrupt = getattr(t, "irq", 0.0) + getattr(t, "softirq", 0.0) + getattr(t, "interrupt", 0.0)
    modes["interrupt"] = interrupt
    return modes


class PsutilSource:
    """Portable readings; whatever psutil cannot give on this platform stays None."""

    def __init__(
        self,
        filters: Filters | None = None,
        statvfs_timeout: float = 1.0,
        clock: Callable[[], int] = time.time_ns,
        process_states: bool = True,
    ) -> None:
        self.filters = filters or Filters()
        self.process_states = process_states
        self._clock = clock
        self._statvfs = StatvfsPool(statvfs_timeout) if hasattr(os, "statvfs") else None
        self._physical = _try("physical cpu count", lambda: psutil.cpu_count(logical=False))

    def read(self) -> Readings:
        r = Readings(time_ns=self._clock())
        r.boot_time = _try("boot time", psutil.boot_time)
        times = _try("cpu times", lambda: psutil.cpu_times(percpu=True))
        r.cpu_times = [_cpu_modes(t) for t in times] if times else None
        r.cpu_physical_count = self._physical
        freqs = _try("cpu frequency", lambda: psutil.cpu_freq(percpu=True))
        r.cpu_freq_hz = [f.current * 1e6 for f in freqs] if freqs else None
        r.load_average = _try("load average", psutil.getloadavg)
        r.memory = _try("memory", self._memory)
        r.swaps = _try("swap", self._swaps)
        r.paging = _try("paging", self._paging)
        r.disks = _try("disk io", self._disks)
        r.filesystems = _try("filesystems", self._filesystems)
        r.network = _try("network", self._network)
        r.connections = _try("connections", self._connections)
        r.processes = _try("processes", self._processes)
        stats = _try("cpu stats", psutil.cpu_stats)
        if stats is not None:
            r.context_switches, r.interrupts = stats.ctx_switches, stats.interrupts
        r.links = _try("links", self._links)
        if r.boot_time is not None:
            r.uptime = max(r.time_ns / 1e9 - r.boot_time, 0.0)
        return r

    @staticmethod
    def _memory() -> MemoryReading:
        m = psutil.virtual_memory()
        return MemoryReading(
            m.total, m.free, getattr(m, "buffers", 0), getattr(m, "cached", 0), getattr(m, "available", None)
        )

    @staticmethod
    def _swaps() -> list[SwapReading]:
        s = psutil.swap_memory()
        return [SwapReading("swap", s.total, s.used)] if s.total else []

    @staticmethod
    def _paging() -> PagingReading:
        s = psutil.swap_memory()
        return PagingReading(0, 0, s.sin, s.sout, 0, 0)

    @staticmethod
    def _disks() -> list[DiskReading]:
        out = []
        for name, d in psutil.disk_io_counters(perdisk=True).items():
            out.append(
                DiskReading(
                    name,
                    d.read_count,
                    d.write_count,
                    d.read_bytes,
                    d.write_bytes,
                    d.read_time / 1000,
                    d.write_time / 1000,
                    getattr(d, "busy_time", 0) / 1000,
                    getattr(d, "read_merged_count", 0),
                    getattr(d, "write_merged_count", 0),
                )
            )
        return out

    def _filesystems(self) -> list[FilesystemReading]:
        mounts = [
            MountReading(p.device, p.mountpoint, p.fstype, p.opts)
            for p in psutil.disk_partitions(all=False)
            if self.filters.mount(p.mountpoint, p.fstype)
        ]
        parts = mounts if self.filters.bind_mounts else one_mount_per_device(mounts)
        out = []
        if self._statvfs is None:  # Windows: no statvfs, no inodes
            for p in parts:
                u = psutil.disk_usage(p.mountpoint)
                mode = "ro" if "ro" in p.options.split(",") else "rw"
                out.append(FilesystemReading(p.device, p.mountpoint, p.fstype, mode, u.total, u.free, u.free, 0, 0))
            return out
        stats = self._statvfs.stat_many(p.mountpoint for p in parts)
        for p in parts:
            reading = filesystem_reading(p.device, p.mountpoint, p.fstype, p.options, stats.get(p.mountpoint))
            if reading is not None:
                out.append(reading)
        return out

    @staticmethod
    def _network() -> list[NetReading]:
        return [
            NetReading(
                name, n.bytes_recv, n.bytes_sent, n.packets_recv, n.packets_sent, n.errin, n.errout, n.dropin, n.dropout
            )
            for name, n in psutil.net_io_counters(pernic=True).items()
        ]

    def _links(self) -> list[LinkReading]:
        return [
            # psutil reports Mbit/s, 0 when unknown.
            LinkReading(name, s.isup, None, s.mtu, s.speed * 125_000 if s.speed > 0 else None)
            for name, s in sorted(psutil.net_if_stats().items())
            if self.filters.interface(name)
        ]

    @staticmethod
    def _connections() -> dict[tuple[str, str], int]:
        counts: dict[tuple[str, str], int] = {}
        for c in psutil.net_connections(kind="inet"):
            tcp = c.type == 1  # socket.SOCK_STREAM
            key = ("tcp" if tcp else "udp", c.status.lower() if tcp and c.status != "NONE" else "")
            counts[key] = counts.get(key, 0) + 1
        return counts

    def _processes(self) -> ProcessCounts:
        counts = dict.fromkeys(("running", "blocked", *SCANNED_STATES), 0)
        for p in psutil.process_iter(["status"]):
            state = _PSUTIL_STATES.get(p.info["status"])
            if state is not None:
                counts[state] += 1
        states = tuple((s, counts[s]) for s in SCANNED_STATES) if self.process_states else None
        return ProcessCounts(counts["running"], counts["blocked"], None, states)

    def close(self) -> None:
        """Nothing to release."""
