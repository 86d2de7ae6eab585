"""Reads the kernel counters node_exporter users rely on, below a configurable root (I/O only).

Every file is optional: a kernel without PSI, a host without conntrack or a container without /sys
leaves that family out of the cycle rather than failing it.
"""

from __future__ import annotations

import os

from otel_agent.collectors.filters import Filters
from otel_agent.models import LinkReading, NetstatReading, PressureReading
from otel_agent.sources import kernparse


def read_text(path: str) -> str | None:
    """The file's text, or None if it is missing or refuses the read (sysfs answers EINVAL on a down link)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        chunks = []
        while chunk := os.read(fd, 65536):  # procfs hands out large tables (mountinfo, net/tcp) in pieces
            chunks.append(chunk)
        return b"".join(chunks).decode("utf-8", "replace")
    except OSError:
        return None
    finally:
        os.close(fd)


class KernelReader:
    """File descriptors, pressure, protocol counters, conntrack and link state under `root`."""

    def __init__(self, root: str, filters: Filters) -> None:
        self.filters = filters
        self._proc = os.path.join(root, "proc")
        self._net_class = os.path.join(root, "sys", "class", "net")

    def _p(self, name: str) -> str:
        return os.path.join(self._proc, name)

    def file_descriptors(self) -> tuple[int, int] | None:
        text = read_text(self._p("sys/fs/file-nr"))
        return kernparse.parse_file_nr(text) if text else None

    def pressure(self) -> list[PressureReading] | None:
        out: list[PressureReading] = []
        for resource in kernparse.PSI_RESOURCES:
            text = read_text(self._p("pressure/" + resource))
            if text:
                out += kernparse.parse_pressure(resource, text)
        return out or None

    def netstat(self) -> NetstatReading | None:
        snmp = read_text(self._p("net/snmp"))
        if snmp is None:
            return None
        return kernparse.netstat_reading(snmp, read_text(self._p("net/netstat")), read_text(self._p("net/snmp6")))

    def conntrack(self) -> tuple[int, int] | None:
        count = read_text(self._p("sys/net/netfilter/nf_conntrack_count"))
        limit = read_text(self._p("sys/net/netfilter/nf_conntrack_max"))
        if count is None or limit is None:  # the nf_conntrack module is not loaded
            return None
        return int(count), int(limit)

    def links(self) -> list[LinkReading] | None:
        try:
            names = sorted(os.listdir(self._net_class))
        except OSError:
            return None
        out = []
        for name in names:
            if not self.filters.interface(name):
                continue
            base = os.path.join(self._net_class, name)
            files = [read_text(os.path.join(base, f)) for f in ("operstate", "carrier", "mtu", "speed")]
            out.append(kernparse.link_reading(name, *files))
        return out
