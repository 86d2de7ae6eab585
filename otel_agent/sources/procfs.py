"""Linux readings straight from /proc and /sys under a configurable root (e.g. /hostfs in a container)."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from pathlib import Path

from otel_agent.collectors.filters import Filters, one_mount_per_device
from otel_agent.models import ClockReading, FilesystemReading, MountReading, Readings
from otel_agent.sources import kernparse, procparse, sockdiag
from otel_agent.sources.kernel import KernelReader
from otel_agent.sources.kernel import read_text as _read
from otel_agent.sources.statvfs import StatvfsPool, filesystem_reading
from otel_agent.sources.timex import ClockReader

_log = logging.getLogger(__name__)


class ProcfsSource:
    """Reads /proc and /sys below `root`; a file the host lacks leaves its readings out."""

    def __init__(
        self,
        root: str = "/",
        filters: Filters | None = None,
        statvfs_timeout: float = 1.0,
        clock: Callable[[], int] = time.time_ns,
        stat: Callable[[str], os.statvfs_result] = os.statvfs,
        netlink: bool | None = None,
        process_states: bool = True,
        clock_reader: Callable[[], ClockReading | None] | None = None,
    ) -> None:
        self.root = root
        self.process_states = process_states
        self.filters = filters or Filters()
        self._proc = os.path.join(root, "proc")
        self._clock = clock
        self._ticks = float(os.sysconf("SC_CLK_TCK")) if hasattr(os, "sysconf") else 100.0
        self._statvfs = StatvfsPool(statvfs_timeout, stat=stat)
        # In a container the host's mount table is the one of the host's pid 1.
        pid = "1" if os.path.normpath(root) != "/" else "self"
        self._mountinfo = os.path.join(self._proc, pid, "mountinfo")
        self._mounts = os.path.join(self._proc, pid, "mounts")
        self._kernel = KernelReader(root, self.filters)
        self._clock_reader = clock_reader or ClockReader().read
        self._freq_files = self._find_freq_files()
        # Netlink counts the agent's own network namespace: the host's when the agent runs on the host
        # (or with host networking); a fixture or foreign root is read from its /proc/net tables instead.
        self._netlink = netlink if netlink is not None else self._same_netns()
        cpuinfo = _read(self._p("cpuinfo"))
        self._physical = procparse.parse_cpuinfo(cpuinfo)[1] if cpuinfo else None

    def _same_netns(self) -> bool:
        try:
            return os.stat(self._p("self/ns/net")).st_ino == os.stat("/proc/self/ns/net").st_ino
        except OSError:
            return False

    def _p(self, name: str) -> str:
        return os.path.join(self._proc, name)

    def _find_freq_files(self) -> list[str]:
        cpu_dir = Path(self.root, "sys/devices/system/cpu")
        files = sorted(
            (p for p in cpu_dir.glob("cpu[0-9]*/cpufreq/scaling_cur_freq")),
            key=lambda p: int(p.parent.parent.name[3:]),
        )
        return [str(p) for p in files]

    def read(self) -> Readings:
        r = Readings(time_ns=self._clock())
        stat = _read(self._p("stat"))
        if stat is not None:
            s = procparse.parse_stat(stat, self._ticks)
            r.cpu_times, r.boot_time, r.processes = s.cpu_times, s.boot_time, s.processes
            r.context_switches, r.interrupts = s.context_switches, s.interrupts
            if self.process_states:
                r.processes = s.processes._replace(states=procparse.count_states(self._process_stats()))
        r.cpu_physical_count = self._physical
        r.cpu_freq_hz = self._frequencies()
        text = _read(self._p("loadavg"))
        r.load_average = procparse.parse_loadavg(text) if text else None
        text = _read(self._p("meminfo"))
        r.memory = procparse.parse_meminfo(text) if text else None
        text = _read(self._p("swaps"))
        r.swaps = procparse.parse_swaps(text) if text is not None else None
        text = _read(self._p("vmstat"))
        r.paging = procparse.parse_vmstat(text) if text else None
        text = _read(self._p("diskstats"))
        r.disks = procparse.parse_diskstats(text) if text is not None else None
        r.filesystems = self._filesystems()
        text = _read(self._p("net/dev"))
        r.network = procparse.parse_net_dev(text) if text is not None else None
        r.connections = self._connections()
        text = _read(self._p("uptime"))
        r.uptime = float(text.split()[0]) if text else None
        k = self._kernel
        r.file_descriptors, r.pressure, r.links = k.file_descriptors(), k.pressure(), k.links()
        r.netstat, r.conntrack = k.netstat(), k.conntrack()
        r.clock = self._clock_reader()
        return r

    def _process_stats(self) -> list[bytes]:
        """/proc/<pid>/stat of every process: ~6 µs each, the one part of a cycle that grows with the host."""
        proc, open_, read, close, flags = self._proc, os.open, os.read, os.close, os.O_RDONLY
        try:
            pids = [name for name in os.listdir(proc) if name.isdigit()]
        except OSError:
            return []
        stats = []
        for pid in pids:
            try:
                fd = open_(f"{proc}/{pid}/stat", flags)
            except OSError:  # the process exited since the listing
                continue
            try:
                stats.append(read(fd, 512))
            except OSError:
                pass
            finally:
                close(fd)
        return stats

    def _frequencies(self) -> list[float] | None:
        if self._freq_files:
            khz = [_read(f) for f in self._freq_files]
            return [float(k) * 1e3 for k in khz if k]
        text = _read(self._p("cpuinfo"))
        freqs = procparse.parse_cpuinfo(text)[0] if text else []
        return freqs or None

    def _connections(self) -> dict[tuple[str, str], int] | None:
        if self._netlink:
            try:
                return sockdiag.count_connections(self._udp_in_use())
            except OSError as exc:  # no netlink (old kernel, seccomp): the /proc/net tables still work
                _log.info("sock_diag unavailable (%s); counting sockets from /proc/net", exc)
                self._netlink = False
        counts: dict[tuple[str, str], int] = {}
        found = False
        for table, transport in (("tcp", "tcp"), ("tcp6", "tcp"), ("udp", "udp"), ("udp6", "udp")):
            text = _read(self._p("net/" + table))
            if text is not None:
                found = True
                procparse.count_sockets(text, transport, counts)
        return counts if found else None

    def _udp_in_use(self) -> int | None:
        four, six = _read(self._p("net/sockstat")), _read(self._p("net/sockstat6"))
        if four is None or six is None:
            return None
        return procparse.sockstat_udp(four) + procparse.sockstat_udp(six)

    def _mount_table(self) -> list[MountReading] | None:
        text = _read(self._mountinfo)
        if text is not None:
            return kernparse.parse_mountinfo(text)
        text = _read(self._mounts)  # kernels before 2.6.26, or a root that only carries /proc/mounts
        return procparse.parse_mounts(text) if text is not None else None

    def _filesystems(self) -> list[FilesystemReading] | None:
        table = self._mount_table()
        if table is None:
            return None
        mounts = [m for m in table if self.filters.mount(m.mountpoint, m.fstype)]
        if not self.filters.bind_mounts:
            mounts = one_mount_per_device(mounts)
        paths = {m.mountpoint: os.path.join(self.root, m.mountpoint.lstrip("/")) for m in mounts}
        stats = self._statvfs.stat_many(paths.values())
        out = []
        for m in mounts:
            reading = filesystem_reading(m.device, m.mountpoint, m.fstype, m.options, stats.get(paths[m.mountpoint]))
            if reading is not None:
                out.append(reading)
        return out

    def close(self) -> None:
        """Nothing to release: statvfs workers are daemon threads."""
