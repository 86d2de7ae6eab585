"""One synthetic host: wandering load with a daily rhythm and occasional spikes, read as agent `Readings`.

Pure apart from its own state and seeded random numbers: the same profile and the same read times give
the same readings. Counters only grow; shares stay in [0, 1].
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable

from heron_stack.simulate.profiles import HostProfile
from otel_agent.models import (
    ClockReading,
    DiskReading,
    FilesystemReading,
    LinkReading,
    MemoryReading,
    NetReading,
    NetstatReading,
    PagingReading,
    PressureReading,
    ProcessCounts,
    Readings,
    SwapReading,
)

DAY = 86_400.0
SPIKE_EVERY = 12 * 3600.0
"""Mean seconds between CPU spikes of one host: a 1,000-host fleet sees a new spike every ~45 s."""
SPIKE_SECONDS = (60.0, 900.0)
# Share of busy CPU time per mode (the rest of the time is idle).
BUSY_MODES = (("user", 0.68), ("system", 0.2), ("iowait", 0.04), ("nice", 0.02), ("interrupt", 0.03), ("steal", 0.03))
MODES = ("idle", *(m for m, _ in BUSY_MODES))


def _clamp(x: float, low: float, high: float) -> float:
    return low if x < low else high if x > high else x


class _Walk:
    """Mean-reverting random walk (Ornstein-Uhlenbeck) around 0 with a given spread."""

    __slots__ = ("_sigma", "_tau", "x")

    def __init__(self, spread: float, tau: float = 300.0) -> None:
        self.x = 0.0
        self._tau = tau
        self._sigma = spread * math.sqrt(2.0 / tau)

    def step(self, rng: random.Random, dt: float) -> float:
        self.x += -self.x * min(dt / self._tau, 1.0) + self._sigma * math.sqrt(dt) * rng.gauss(0.0, 1.0)
        return self.x


class SyntheticHost:
    """Readings of one simulated host; each `read_at` advances its state to that time."""

    def __init__(self, profile: HostProfile, start_s: float | None = None) -> None:
        p = self.profile = profile
        self._rng = random.Random(profile.seed)  # noqa: S311 - seeded simulation, not secrets
        self._start = time.time() if start_s is None else start_s
        self.boot_time = self._start - p.uptime
        self._last = self._start
        self._cpu_walk, self._mem_walk, self._swap_walk = _Walk(0.07), _Walk(0.04, 1800.0), _Walk(0.02, 3600.0)
        self._spike_until = 0.0
        self.busy = p.baseline
        # Counters start where a host up for `uptime` at its baseline would be.
        self._cpu = [
            {m: p.uptime * (1 - p.baseline if m == "idle" else p.baseline * s) for m, s in (("idle", 0), *BUSY_MODES)}
            for _ in range(p.cores)
        ]
        self._load = [p.baseline * p.cores] * 3
        self._used = {fs.mountpoint: fs.size * fs.fill for fs in p.filesystems}
        up = p.uptime
        self._disk = {
            d.device: [up * d.read_iops * 0.3, up * d.write_iops * 0.3, 0.0, 0.0, 0.0, 0.0, 0.0] for d in p.disks
        }
        for c in self._disk.values():
            c[2], c[3] = c[0] * 32768, c[1] * 16384
            c[4], c[5], c[6] = c[0] * 5e-4, c[1] * 8e-4, (c[0] + c[1]) * 4e-4
        self._net = {n: [up * p.net_bytes_per_s * 0.3, 0.0, 0.0] for n in p.interfaces}  # rx bytes, errors, dropped
        self._paging = [up * 50.0, up * 80.0, 0.0, 0.0, up * 3000.0, up * 0.5]
        self._created = up * 3.0
        # Kernel counters draw from their own generator, so the families above keep their sequences.
        self._krng = random.Random(profile.seed + 1)  # noqa: S311 - seeded simulation, not secrets
        self._kernel = {
            "ctxt": up * p.cores * 2000.0, "intr": up * p.cores * 800.0, "cpu": up * 0.01, "memory": 0.0,
            "io": up * 0.002, "io_full": up * 0.001, "retrans": up * 0.05, "resets": up * 0.2, "udp": 0.0,
        }  # fmt: skip

    def read(self, clock: Callable[[], int] = time.time_ns) -> Readings:
        """The agent's `Source` interface: readings as of now."""
        return self.read_at(clock())

    def close(self) -> None:
        """Nothing to release (the agent's `Source` interface)."""

    def read_at(self, time_ns: int) -> Readings:
        """Advance to `time_ns` and return the readings a real host would give then."""
        now = time_ns / 1e9
        dt = max(now - self._last, 0.0)
        self._last = max(now, self._last)
        p, rng = self.profile, self._rng
        self.busy = busy = self._cpu_busy(now, dt)
        r = Readings(time_ns=time_ns, boot_time=self.boot_time, uptime=now - self.boot_time)
        r.cpu_times, r.cpu_freq_hz = self._cpu_times(busy, dt)
        r.cpu_physical_count = p.physical_cores
        r.load_average = self._load_average(busy, dt)
        r.memory = self._memory(dt)
        used_swap = _clamp(0.05 + self._swap_walk.step(rng, dt), 0.0, 1.0) * p.swap
        r.swaps = [SwapReading("/dev/dm-1", p.swap, int(used_swap))] if p.swap else []
        r.paging = self._paging_counters(busy, dt)
        r.disks = self._disks(busy, dt)
        r.filesystems = self._filesystems(dt)
        r.network = self._network(busy, dt)
        r.connections = {
            ("tcp", "established"): int(20 + busy * 400 * rng.uniform(0.8, 1.2)),
            ("tcp", "listen"): 6 + p.index % 12,
            ("tcp", "time_wait"): int(busy * 150 * rng.uniform(0.5, 1.5)),
            ("tcp", "close_wait"): rng.randint(0, 2),
            ("udp", ""): 4 + p.index % 9,
        }
        self._created += dt * (2 + 18 * busy) * rng.uniform(0.5, 1.5)
        running = max(1, round(busy * p.cores + rng.gauss(0, 0.5)))
        r.processes = ProcessCounts(running, int(rng.random() < 0.1 + busy / 4), int(self._created))
        self._kernel_readings(r, busy, dt)
        return r

    def _kernel_readings(self, r: Readings, busy: float, dt: float) -> None:
        """Context switches, file descriptors, pressure, links, protocol counters, conntrack and clock."""
        c, rng, cores = self._kernel, self._krng, self.profile.cores
        c["ctxt"] += dt * cores * (2000 + 30000 * busy) * rng.uniform(0.8, 1.2)
        c["intr"] += dt * cores * (800 + 6000 * busy) * rng.uniform(0.8, 1.2)
        c["cpu"] += dt * max(busy - 0.6, 0.0) * rng.uniform(0.5, 1.0)  # runnable tasks wait once cores fill up
        c["io"] += dt * 0.002 * (1 + 4 * busy)
        c["io_full"] += dt * 0.001 * (1 + 4 * busy)
        c["retrans"] += dt * (0.05 + busy) * rng.uniform(0.0, 2.0)
        c["resets"] += dt * (0.2 + 2 * busy) * rng.uniform(0.5, 1.5)
        if rng.random() < 0.001 * dt:
            c["udp"] += rng.randint(1, 50)
        r.context_switches, r.interrupts = int(c["ctxt"]), int(c["intr"])
        r.file_descriptors = (int(1500 + 4000 * busy * rng.uniform(0.9, 1.1)), 9223372036854775807)
        r.pressure = [
            PressureReading("cpu", "some", c["cpu"]),
            PressureReading("cpu", "full", 0.0),
            PressureReading("memory", "some", c["memory"]),
            PressureReading("memory", "full", c["memory"]),
            PressureReading("io", "some", c["io"]),
            PressureReading("io", "full", c["io_full"]),
        ]
        r.links = [
            LinkReading(
                name, name != "lo", True, 65536 if name == "lo" else 1500, None if name == "lo" else 1_250_000_000
            )
            for name in self.profile.interfaces
        ]
        udp = int(c["udp"])
        r.netstat = NetstatReading(
            int(c["retrans"]), int(c["resets"]), 0, 0,
            (("ipv4", "receive", udp), ("ipv4", "receive_buffer", udp), ("ipv4", "send_buffer", 0),
             ("ipv4", "no_port", int(c["resets"] / 10)), ("ipv6", "receive", 0), ("ipv6", "receive_buffer", 0),
             ("ipv6", "send_buffer", 0), ("ipv6", "no_port", 0)),
        )  # fmt: skip
        r.conntrack = (int(200 + 2000 * busy * rng.uniform(0.8, 1.2)), 262144)
        r.clock = ClockReading(rng.gauss(0.0, 2e-4), 0.01 + rng.uniform(0.0, 0.05), True)

    def _cpu_busy(self, now: float, dt: float) -> float:
        p, rng = self.profile, self._rng
        if dt and now >= self._spike_until and rng.random() < 1 - math.exp(-dt / SPIKE_EVERY):
            self._spike_until = now + rng.uniform(*SPIKE_SECONDS)
        if now < self._spike_until:
            return rng.uniform(0.93, 1.0)
        daily = 1 + 0.5 * math.sin(2 * math.pi * (now / DAY + p.phase))
        return _clamp(p.baseline * daily + self._cpu_walk.step(rng, dt), 0.005, 1.0)

    def _cpu_times(self, busy: float, dt: float) -> tuple[list[dict[str, float]], list[float]]:
        rng, base_hz = self._rng, self.profile.base_hz
        freqs = []
        for n, modes in enumerate(self._cpu):
            core = _clamp(busy + rng.gauss(0.0, 0.04) + (0.03 if n == 0 else 0.0), 0.002, 1.0)
            modes["idle"] += dt * (1 - core)
            for mode, share in BUSY_MODES:
                modes[mode] += dt * core * share
            freqs.append(base_hz * (0.6 + 0.5 * core))
        return [dict(m) for m in self._cpu], freqs

    def _load_average(self, busy: float, dt: float) -> tuple[float, float, float]:
        runnable = busy * self.profile.cores * self._rng.uniform(0.85, 1.25)
        for i, window in enumerate((60.0, 300.0, 900.0)):
            decay = math.exp(-dt / window)
            self._load[i] = self._load[i] * decay + runnable * (1 - decay)
        return self._load[0], self._load[1], self._load[2]

    def _memory(self, dt: float) -> MemoryReading:
        total = self.profile.memory
        used = _clamp(self.profile.memory_baseline + self._mem_walk.step(self._rng, dt), 0.05, 0.97) * total
        buffers = 0.02 * total
        cached = min(0.3 * total, (total - used - buffers) * 0.6)
        free = total - used - buffers - cached
        return MemoryReading(total, int(free), int(buffers), int(cached), int(free + 0.9 * cached + buffers))

    def _paging_counters(self, busy: float, dt: float) -> PagingReading:
        c, scale = self._paging, dt * (0.3 + busy)
        for i, rate in enumerate((50.0, 80.0, 0.01, 0.02, 3000.0 * self.profile.cores, 0.5)):
            c[i] += rate * scale * self._rng.uniform(0.5, 1.5)
        return PagingReading(int(c[0]), int(c[1]), int(c[2]), int(c[3]), int(c[4]), int(c[5]))

    def _disks(self, busy: float, dt: float) -> list[DiskReading]:
        out = []
        for d in self.profile.disks:
            c = self._disk[d.device]
            reads = d.read_iops * dt * (0.2 + busy) * self._rng.uniform(0.6, 1.4)
            writes = d.write_iops * dt * (0.2 + busy) * self._rng.uniform(0.6, 1.4)
            latency = 2e-4 if d.device.startswith("nvme") else 2e-3
            c[0] += reads
            c[1] += writes
            c[2] += reads * self._rng.uniform(8192, 65536)
            c[3] += writes * self._rng.uniform(4096, 32768)
            c[4] += reads * latency
            c[5] += writes * latency * 1.5
            c[6] += min(dt, (reads + writes) * latency * 0.8)
            out.append(
                DiskReading(
                    d.device,
                    int(c[0]),
                    int(c[1]),
                    int(c[2]),
                    int(c[3]),
                    c[4],
                    c[5],
                    c[6],
                    int(c[0] * 0.05),
                    int(c[1] * 0.2),
                )
            )
        return out

    def _filesystems(self, dt: float) -> list[FilesystemReading]:
        out = []
        for fs in self.profile.filesystems:
            used = self._used[fs.mountpoint] + fs.growth * dt + self._rng.gauss(0.0, 2e-6 * fs.size) * math.sqrt(dt)
            if used > 0.985 * fs.size:  # the owner cleans up before the disk is full
                used = 0.6 * fs.size
            used = self._used[fs.mountpoint] = _clamp(used, 0.01 * fs.size, 0.99 * fs.size)
            free = fs.size - used
            reserved = 0.05 * fs.size if fs.fstype == "ext4" else 0.0
            inodes = fs.size // 32768
            device = f"/dev/{fs.device}{'p' if fs.device.startswith('nvme') else ''}1"
            out.append(
                FilesystemReading(
                    device, fs.mountpoint, fs.fstype, "rw", fs.size, int(free), int(max(free - reserved, 0.0)),
                    inodes, int(inodes - min(used / 200_000, inodes)),
                )
            )  # fmt: skip
        return out

    def _network(self, busy: float, dt: float) -> list[NetReading]:
        out = []
        rng = self._rng
        for name in self.profile.interfaces:
            c = self._net[name]
            share = 0.05 if name == "lo" else 1.0 if name == "eth0" else 0.3
            c[0] += self.profile.net_bytes_per_s * share * dt * (0.3 + busy) * rng.uniform(0.7, 1.3)
            if rng.random() < 0.002 * dt:
                c[1] += rng.randint(1, 5)
            if rng.random() < 0.005 * dt:
                c[2] += rng.randint(1, 20)
            rx = int(c[0])
            tx = int(c[0] * (1.0 if name == "lo" else 0.6))
            out.append(NetReading(name, rx, tx, rx // 900, tx // 700, int(c[1]), int(c[1] // 3), int(c[2]), 0))
        return out
