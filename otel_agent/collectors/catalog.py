"""The metrics the agent emits, with semantic-convention names, instrument kinds and units."""

from __future__ import annotations

from otel_agent.models import Kind, MetricInfo

C, U, G = Kind.COUNTER, Kind.UPDOWN, Kind.GAUGE

_METRICS = [
    MetricInfo("system.cpu.time", C, "s", "Seconds each logical CPU spent in each mode."),
    MetricInfo("system.cpu.utilization", G, "1", "Share of time each logical CPU spent in each mode."),
    MetricInfo("system.cpu.logical.count", U, "{cpu}", "Logical CPUs."),
    MetricInfo("system.cpu.physical.count", U, "{cpu}", "Physical CPU cores."),
    MetricInfo("system.cpu.frequency", G, "Hz", "Current frequency of each logical CPU."),
    MetricInfo("system.cpu.load_average.1m", G, "{thread}", "Load average over 1 minute."),
    MetricInfo("system.cpu.load_average.5m", G, "{thread}", "Load average over 5 minutes."),
    MetricInfo("system.cpu.load_average.15m", G, "{thread}", "Load average over 15 minutes."),
    MetricInfo("system.memory.usage", U, "By", "Memory in use, by state."),
    MetricInfo("system.memory.limit", U, "By", "Total memory."),
    MetricInfo("system.memory.utilization", G, "1", "Share of memory in each state."),
    MetricInfo("system.memory.linux.available", U, "By", "Memory available for new work (MemAvailable)."),
    MetricInfo("system.paging.usage", U, "By", "Swap space used and free, per device."),
    MetricInfo("system.paging.utilization", G, "1", "Share of swap space used and free, per device."),
    MetricInfo("system.paging.operations", C, "{operation}", "Paging operations, by direction and type."),
    MetricInfo("system.paging.faults", C, "{fault}", "Page faults, by type."),
    MetricInfo("system.disk.io", C, "By", "Bytes read and written, per device."),
    MetricInfo("system.disk.operations", C, "{operation}", "Read and write operations, per device."),
    MetricInfo("system.disk.io_time", C, "s", "Time the device had I/O in flight."),
    MetricInfo("system.disk.operation_time", C, "s", "Time spent in read and write operations."),
    MetricInfo("system.disk.merged", C, "{operation}", "Adjacent operations merged by the kernel."),
    MetricInfo("system.filesystem.usage", U, "By", "Filesystem space by state, per mountpoint."),
    MetricInfo("system.filesystem.utilization", G, "1", "Share of filesystem space used, per mountpoint."),
    MetricInfo("system.filesystem.limit", U, "By", "Filesystem size, per mountpoint."),
    MetricInfo("system.filesystem.inodes.usage", U, "{inode}", "Inodes used and free, per mountpoint."),
    MetricInfo("system.network.io", C, "By", "Bytes received and transmitted, per interface."),
    MetricInfo("system.network.packet.count", C, "{packet}", "Packets received and transmitted, per interface."),
    MetricInfo("system.network.packet.dropped", C, "{packet}", "Packets dropped, per interface."),
    MetricInfo("system.network.errors", C, "{error}", "Receive and transmit errors, per interface."),
    MetricInfo("system.network.connection.count", U, "{connection}", "Sockets by transport and state."),
    MetricInfo("system.process.count", U, "{process}", "Processes by state."),
    MetricInfo("system.process.created", C, "{process}", "Processes created since boot."),
    MetricInfo("system.uptime", G, "s", "Seconds since the host booted."),
    # Not (yet) in the semantic conventions: named in their style, Linux-only ones under system.linux.*;
    # the conntrack pair is the collector hostmetrics receiver's.
    MetricInfo("system.context_switches", C, "{context_switch}", "Context switches since boot."),
    MetricInfo("system.interrupts", C, "{interrupt}", "Interrupts serviced since boot."),
    MetricInfo("system.linux.file_descriptor.count", U, "{file_descriptor}", "Allocated file handles."),
    MetricInfo("system.linux.file_descriptor.limit", U, "{file_descriptor}", "Maximum file handles (fs.file-max)."),
    MetricInfo(
        "system.linux.pressure.stall_time", C, "s", "Time tasks were stalled on CPU, memory or I/O (PSI), by scope."
    ),
    MetricInfo("system.network.interface.up", U, "1", "1 while the interface's operational state is up."),
    MetricInfo("system.network.interface.carrier", U, "1", "1 while the interface has a physical link."),
    MetricInfo("system.network.interface.mtu", U, "By", "Largest packet the interface sends."),
    MetricInfo("system.network.interface.speed", U, "By/s", "Negotiated link speed (physical links only)."),
    MetricInfo("system.network.tcp.retransmits", C, "{segment}", "TCP segments retransmitted."),
    MetricInfo("system.network.tcp.resets", C, "{segment}", "TCP segments sent with the RST flag."),
    MetricInfo("system.network.tcp.listen.overflows", C, "{connection}", "Connections dropped: accept queue full."),
    MetricInfo("system.network.tcp.listen.drops", C, "{connection}", "Connections dropped at a listening socket."),
    MetricInfo("system.network.udp.errors", C, "{datagram}", "UDP datagrams lost, by error type and IP version."),
    MetricInfo("system.network.conntrack.count", U, "{entry}", "Connections in the netfilter tracking table."),
    MetricInfo("system.network.conntrack.max", U, "{entry}", "Size limit of the netfilter tracking table."),
    MetricInfo("system.clock.offset", G, "s", "Offset of the system clock from its time source (adjtimex)."),
    MetricInfo("system.clock.max_error", G, "s", "Maximum error the kernel allows for the clock."),
    MetricInfo("system.clock.synchronized", U, "1", "1 while the kernel considers the clock synchronized."),
    MetricInfo("process.cpu.time", C, "s", "CPU seconds of a top process, by mode."),
    MetricInfo("process.memory.usage", U, "By", "Resident memory of a top process."),
    MetricInfo("process.memory.virtual", U, "By", "Virtual memory of a top process."),
    MetricInfo("process.thread.count", U, "{thread}", "Threads of a top process."),
    MetricInfo("otel_agent.cycle.duration", G, "s", "Wall time the last collection cycle took."),
    MetricInfo("otel_agent.points.exported", C, "{point}", "Data points the collector accepted."),
    MetricInfo("otel_agent.export.failures", C, "{export}", "Export attempts that failed (kept for retry)."),
    MetricInfo("otel_agent.buffer.depth", U, "{cycle}", "Cycles waiting in the buffer."),
    MetricInfo("otel_agent.buffer.size", U, "By", "Estimated bytes held by the in-memory buffer."),
    MetricInfo("otel_agent.points.dropped", C, "{point}", "Data points dropped, by reason."),
]

CATALOG: dict[str, MetricInfo] = {m.name: m for m in _METRICS}
HOST_METRIC_NAMES: tuple[str, ...] = tuple(m.name for m in _METRICS if m.name.startswith("system."))
