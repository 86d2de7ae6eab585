"""Value objects shared by sources, collectors, the buffer and the exporter."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import NamedTuple

AttrValue = str | int
Attrs = tuple[tuple[str, AttrValue], ...]


class Kind(enum.Enum):
    """OpenTelemetry instrument kind of a metric."""

    COUNTER = "counter"
    UPDOWN = "updowncounter"
    GAUGE = "gauge"


class MetricInfo(NamedTuple):
    """What a metric name means: its instrument kind, unit and description."""

    name: str
    kind: Kind
    unit: str
    description: str


class Point(NamedTuple):
    """One data point: metric name, attributes, value; `start_ns` 0 means the cycle's default start."""

    name: str
    attrs: Attrs
    value: float | int
    start_ns: int = 0


@dataclass(slots=True)
class Cycle:
    """The points of one collection cycle, stamped with the time they were read."""

    time_ns: int
    start_ns: int
    points: list[Point]
    seq: int = 0
    size: int = field(default=0)


# ---- readings: what a source reports, in base units (bytes, seconds, counts) ----


class MemoryReading(NamedTuple):
    total: int
    free: int
    buffers: int
    cached: int
    available: int | None


class SwapReading(NamedTuple):
    device: str
    size: int
    used: int


class PagingReading(NamedTuple):
    page_in: int
    page_out: int
    swap_in: int
    swap_out: int
    faults_minor: int
    faults_major: int


class DiskReading(NamedTuple):
    device: str
    reads: int
    writes: int
    read_bytes: int
    write_bytes: int
    read_time: float
    write_time: float
    io_time: float
    read_merged: int
    write_merged: int


class MountReading(NamedTuple):
    device: str
    mountpoint: str
    fstype: str
    options: str
    dev_id: str = ""
    """Kernel device number ("8:1") from mountinfo, or the source device when only /proc/mounts is read."""
    root: str = "/"
    """Directory of the filesystem mounted here: "/" for a plain mount, a subdirectory for a bind mount."""


class FilesystemReading(NamedTuple):
    device: str
    mountpoint: str
    fstype: str
    mode: str
    total: int
    free: int
    avail: int
    inodes_total: int
    inodes_free: int


class NetReading(NamedTuple):
    interface: str
    rx_bytes: int
    tx_bytes: int
    rx_packets: int
    tx_packets: int
    rx_errors: int
    tx_errors: int
    rx_dropped: int
    tx_dropped: int


class ProcessCounts(NamedTuple):
    running: int
    blocked: int
    created: int | None
    states: tuple[tuple[str, int], ...] | None = None
    """Processes in the other states (sleeping, stopped, defunct); None when processes were not scanned."""


class ProcessReading(NamedTuple):
    pid: int
    name: str
    command: str
    cpu_user: float
    cpu_system: float
    rss: int
    vms: int
    threads: int
    create_time: float


class PressureReading(NamedTuple):
    """Pressure stall information: seconds some (or all, `full`) tasks waited on a resource."""

    resource: str
    scope: str
    stalled_seconds: float


class LinkReading(NamedTuple):
    interface: str
    up: bool
    carrier: bool | None
    mtu: int | None
    speed_bytes: int | None
    """Link speed in bytes per second; None when the driver does not say (virtual links)."""


class NetstatReading(NamedTuple):
    """Protocol counters from /proc/net/snmp, /proc/net/netstat and /proc/net/snmp6."""

    tcp_retransmits: int
    tcp_resets_sent: int
    tcp_listen_overflows: int
    tcp_listen_drops: int
    udp_errors: tuple[tuple[str, str, int], ...]
    """(network.type, error type, count): ipv4/ipv6 x receive, receive_buffer, send_buffer, no_port."""


class ClockReading(NamedTuple):
    """Kernel clock discipline (adjtimex): offset from the time source, its error bound and sync state."""

    offset_seconds: float
    max_error_seconds: float
    synchronized: bool


@dataclass(slots=True)
class Readings:
    """Everything one cycle reads from the host; None means this platform or source lacks it."""

    time_ns: int
    boot_time: float | None = None
    cpu_times: list[dict[str, float]] | None = None
    cpu_physical_count: int | None = None
    cpu_freq_hz: list[float] | None = None
    load_average: tuple[float, float, float] | None = None
    memory: MemoryReading | None = None
    swaps: list[SwapReading] | None = None
    paging: PagingReading | None = None
    disks: list[DiskReading] | None = None
    filesystems: list[FilesystemReading] | None = None
    network: list[NetReading] | None = None
    connections: dict[tuple[str, str], int] | None = None
    processes: ProcessCounts | None = None
    uptime: float | None = None
    context_switches: int | None = None
    interrupts: int | None = None
    file_descriptors: tuple[int, int] | None = None
    """Allocated file handles and the system-wide maximum (fs.file-nr, fs.file-max)."""
    pressure: list[PressureReading] | None = None
    links: list[LinkReading] | None = None
    netstat: NetstatReading | None = None
    conntrack: tuple[int, int] | None = None
    """Tracked connections and the table's limit; None when netfilter conntrack is not loaded."""
    clock: ClockReading | None = None
    top_processes: list[ProcessReading] | None = None
