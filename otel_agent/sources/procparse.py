"""Parsers for Linux /proc text (pure: text in, readings out)."""

from __future__ import annotations

from collections.abc import Iterable

from otel_agent.models import (
    DiskReading,
    MemoryReading,
    MountReading,
    NetReading,
    PagingReading,
    ProcessCounts,
    SwapReading,
)

SECTOR_BYTES = 512
TCP_STATES = {
    "01": "established",
    "02": "syn_sent",
    "03": "syn_received",
    "04": "fin_wait_1",
    "05": "fin_wait_2",
    "06": "time_wait",
    "07": "closed",
    "08": "close_wait",
    "09": "last_ack",
    "0A": "listen",
    "0B": "closing",
}


class StatReading:
    """What /proc/stat holds: per-CPU mode seconds, boot time and process counters."""

    __slots__ = ("boot_time", "context_switches", "cpu_times", "interrupts", "processes")

    def __init__(
        self,
        cpu_times: list[dict[str, float]],
        boot_time: float | None,
        processes: ProcessCounts,
        context_switches: int | None = None,
        interrupts: int | None = None,
    ) -> None:
        self.cpu_times = cpu_times
        self.boot_time = boot_time
        self.processes = processes
        self.context_switches = context_switches
        self.interrupts = interrupts


def parse_stat(text: str, ticks_per_second: float) -> StatReading:
    cpus: list[dict[str, float]] = []
    values: dict[str, int] = {}
    for line in text.splitlines():
        if line.startswith("cpu") and line[3:4].isdigit():
            f = [int(x) / ticks_per_second for x in line.split()[1:9]]
            f += [0.0] * (8 - len(f))
            cpus.append(
                {
                    "user": f[0],
                    "nice": f[1],
                    "system": f[2],
                    "idle": f[3],
                    "iowait": f[4],
                    "interrupt": f[5] + f[6],
                    "steal": f[7],
                }
            )
        elif line.startswith(("btime ", "processes ", "procs_running ", "procs_blocked ", "ctxt ", "intr ")):
            # `intr` goes on with one count per interrupt line: its first number is the total.
            key, value = line.split(None, 2)[:2]
            values[key] = int(value)
    counts = ProcessCounts(values.get("procs_running", 0), values.get("procs_blocked", 0), values.get("processes"))
    boot = float(values["btime"]) if "btime" in values else None
    return StatReading(cpus, boot, counts, values.get("ctxt"), values.get("intr"))


# Linux state letters (fs/proc/array.c) -> semantic-convention process.state. Running (R) and blocked (D)
# come from /proc/stat instead: one read, and counting threads as the hostmetrics receiver does.
PROCESS_STATES = {b"S": "sleeping", b"I": "sleeping", b"T": "stopped", b"t": "stopped", b"Z": "defunct"}
SCANNED_STATES = ("sleeping", "stopped", "defunct")


def count_states(stats: Iterable[bytes]) -> tuple[tuple[str, int], ...]:
    """Processes per state from the text of each /proc/<pid>/stat.

    The state is the letter after the command name, which may itself hold ') ', hence the last ')'.
    """
    by_letter: dict[bytes, int] = {}
    for stat in stats:
        end = stat.rfind(b")")
        letter = stat[end + 2 : end + 3]
        by_letter[letter] = by_letter.get(letter, 0) + 1
    counts = dict.fromkeys(SCANNED_STATES, 0)
    for letter, n in by_letter.items():
        state = PROCESS_STATES.get(letter)
        if state is not None:
            counts[state] += n
    return tuple(counts.items())


def parse_meminfo(text: str) -> MemoryReading:
    kb: dict[str, int] = {}
    for line in text.splitlines():
        key, _, rest = line.partition(":")
        fields = rest.split()
        if fields:
            kb[key] = int(fields[0]) * 1024
    available = kb.get("MemAvailable")
    cached = kb.get("Cached", 0) + kb.get("SReclaimable", 0)
    return MemoryReading(kb["MemTotal"], kb.get("MemFree", 0), kb.get("Buffers", 0), cached, available)


def parse_vmstat(text: str) -> PagingReading:
    v: dict[str, int] = {}
    for line in text.splitlines():
        key, _, value = line.partition(" ")
        if key in ("pgpgin", "pgpgout", "pswpin", "pswpout", "pgfault", "pgmajfault"):
            v[key] = int(value)
    major = v.get("pgmajfault", 0)
    return PagingReading(
        v.get("pgpgin", 0), v.get("pgpgout", 0), v.get("pswpin", 0), v.get("pswpout", 0),
        max(v.get("pgfault", 0) - major, 0), major,
    )  # fmt: skip


def parse_swaps(text: str) -> list[SwapReading]:
    swaps = []
    for line in text.splitlines()[1:]:
        f = line.split()
        if len(f) >= 4:
            swaps.append(SwapReading(f[0], int(f[2]) * 1024, int(f[3]) * 1024))
    return swaps


def parse_diskstats(text: str) -> list[DiskReading]:
    disks = []
    for line in text.splitlines():
        f = line.split()
        if len(f) < 14:
            continue
        disks.append(
            DiskReading(
                device=f[2],
                reads=int(f[3]),
                writes=int(f[7]),
                read_bytes=int(f[5]) * SECTOR_BYTES,
                write_bytes=int(f[9]) * SECTOR_BYTES,
                read_time=int(f[6]) / 1000,
                write_time=int(f[10]) / 1000,
                io_time=int(f[12]) / 1000,
                read_merged=int(f[4]),
                write_merged=int(f[8]),
            )
        )
    return disks


def parse_net_dev(text: str) -> list[NetReading]:
    nics = []
    for line in text.splitlines()[2:]:
        name, _, rest = line.partition(":")
        f = rest.split()
        if len(f) < 16:
            continue
        nics.append(
            NetReading(
                name.strip(), int(f[0]), int(f[8]), int(f[1]), int(f[9]), int(f[2]), int(f[10]), int(f[3]), int(f[11])
            )
        )
    return nics


def count_sockets(text: str, transport: str, counts: dict[tuple[str, str], int]) -> None:
    """Add the sockets of one /proc/net/{tcp,tcp6,udp,udp6} table to `counts` by (transport, state)."""
    tcp = transport == "tcp"
    for line in text.splitlines()[1:]:
        f = line.split(None, 4)
        if len(f) < 4:
            continue
        key = (transport, TCP_STATES.get(f[3], "closed") if tcp else "")
        counts[key] = counts.get(key, 0) + 1


def sockstat_udp(text: str) -> int:
    """UDP sockets in use from /proc/net/sockstat or sockstat6 (`UDP: inuse N ...`, `UDP6: inuse N`)."""
    for line in text.splitlines():
        if line.startswith(("UDP:", "UDP6:")):
            f = line.split()
            return int(f[f.index("inuse") + 1]) if "inuse" in f else 0
    return 0


def parse_loadavg(text: str) -> tuple[float, float, float]:
    f = text.split()
    return float(f[0]), float(f[1]), float(f[2])


def unescape(field: str) -> str:
    # /proc/*/mounts escapes space, tab, newline and backslash as octal (\040 ...).
    if "\\" not in field:
        return field
    return field.encode().decode("unicode_escape").encode("latin-1").decode()


def parse_mounts(text: str) -> list[MountReading]:
    by_mountpoint: dict[str, MountReading] = {}
    for line in text.splitlines():
        f = line.split()
        if len(f) < 4:
            continue
        mountpoint = unescape(f[1])
        # Stacked mounts: the last one listed is the one statvfs sees.
        by_mountpoint.pop(mountpoint, None)
        by_mountpoint[mountpoint] = MountReading(unescape(f[0]), mountpoint, f[2], f[3], dev_id=unescape(f[0]))
    return list(by_mountpoint.values())


def parse_cpuinfo(text: str) -> tuple[list[float], int | None]:
    """Return the per-CPU frequency in Hz and the number of physical cores (None if not listed)."""
    freqs: list[float] = []
    cores: set[tuple[str, str]] = set()
    physical = core = ""
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key == "cpu MHz":
            freqs.append(float(value) * 1e6)
        elif key == "physical id":
            physical = value.strip()
        elif key == "core id":
            core = value.strip()
            cores.add((physical, core))
    return freqs, (len(cores) or None)
