"""Parsers for the kernel counters beyond the semantic conventions' host set (pure: text in, readings out).

File descriptors, pressure stall information, protocol counters, link attributes and the mount table
with device numbers. Each parser takes the text of one file, so tests feed them checked-in fixtures.
"""

from __future__ import annotations

import re

from otel_agent.models import LinkReading, MountReading, NetstatReading, PressureReading
from otel_agent.sources.procparse import unescape

PSI_RESOURCES = ("cpu", "memory", "io")
UDP_ERRORS = (
    ("InErrors", "receive"),
    ("RcvbufErrors", "receive_buffer"),
    ("SndbufErrors", "send_buffer"),
    ("NoPorts", "no_port"),
)


def parse_file_nr(text: str) -> tuple[int, int]:
    """/proc/sys/fs/file-nr: allocated handles, free handles (always 0 since 2.6), maximum."""
    allocated, _, maximum = text.split()[:3]
    return int(allocated), int(maximum)


def parse_pressure(resource: str, text: str) -> list[PressureReading]:
    """/proc/pressure/<resource>: `some avg10=.. avg60=.. avg300=.. total=<µs>` and the same for `full`.

    The cumulative stall time is the counter; the averages are what a rate of it gives over any window.
    """
    out = []
    for line in text.splitlines():
        scope, _, rest = line.partition(" ")
        for field in rest.split():
            if field.startswith("total="):
                out.append(PressureReading(resource, scope, int(field[6:]) / 1e6))
    return out


def proto_fields(text: str, proto: str, names: tuple[str, ...]) -> dict[str, int]:
    """The named fields of one protocol in /proc/net/snmp or /proc/net/netstat.

    Each protocol is a pair of lines, `Proto: Name1 Name2 ...` then `Proto: 1 2 ...`; only the asked-for
    fields are converted (TcpExt alone has over a hundred).
    """
    head = text.find(proto + ": ")
    while head > 0 and text[head - 1] != "\n":  # a match must start a line
        head = text.find(proto + ": ", head + 1)
    if head < 0:
        return {}
    end = text.find("\n", head)
    row_end = text.find("\n", end + 1)
    keys = text[head:end].split()[1:]
    values = text[end + 1 : row_end if row_end >= 0 else len(text)].split()[1:]
    index = {key: i for i, key in enumerate(keys)}
    return {name: int(values[index[name]]) for name in names if name in index and index[name] < len(values)}


def parse_snmp6(text: str, prefix: str = "") -> dict[str, int]:
    """/proc/net/snmp6: one `Udp6InErrors  0` pair per line; `prefix` keeps only the fields it starts."""
    return {name: int(value) for name, value in re.findall(rf"^({re.escape(prefix)}\w*)\s+(\d+)$", text, re.M)}


def netstat_reading(snmp: str, netstat: str | None, snmp6: str | None) -> NetstatReading:
    """TCP retransmits, resets and listen-queue overflows and UDP errors by IP version."""
    tcp = proto_fields(snmp, "Tcp", ("RetransSegs", "OutRsts"))
    udp = proto_fields(snmp, "Udp", tuple(key for key, _ in UDP_ERRORS))
    ext = proto_fields(netstat, "TcpExt", ("ListenOverflows", "ListenDrops")) if netstat is not None else {}
    errors = [("ipv4", kind, udp[key]) for key, kind in UDP_ERRORS if key in udp]
    if snmp6 is not None:
        udp6 = parse_snmp6(snmp6, "Udp6")
        errors += [("ipv6", kind, udp6["Udp6" + key]) for key, kind in UDP_ERRORS if "Udp6" + key in udp6]
    return NetstatReading(
        tcp.get("RetransSegs", 0),
        tcp.get("OutRsts", 0),
        ext.get("ListenOverflows", 0),
        ext.get("ListenDrops", 0),
        tuple(errors),
    )


def _int(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


def link_reading(
    interface: str, operstate: str | None, carrier: str | None, mtu: str | None, speed: str | None
) -> LinkReading:
    """One interface from its /sys/class/net files (None where the file is missing or refuses a read).

    `speed` is in Mbit/s; virtual links answer -1 or refuse, and then no speed is reported.
    """
    mbits = _int(speed)
    carrier_value = _int(carrier)
    return LinkReading(
        interface,
        (operstate or "").strip() == "up",
        None if carrier_value is None else carrier_value == 1,
        _int(mtu),
        mbits * 125_000 if mbits is not None and mbits >= 0 else None,
    )


def parse_mountinfo(text: str) -> list[MountReading]:
    """/proc/<pid>/mountinfo: `id parent major:minor root mountpoint options [optional...] - fstype source super`.

    Unlike /proc/mounts it names the device number and the directory of the filesystem that is mounted,
    which tells a bind mount (root below "/") from the mount of the filesystem itself.
    """
    by_mountpoint: dict[str, MountReading] = {}
    for line in text.splitlines():
        f = line.split()
        try:
            sep = f.index("-", 6)
        except ValueError:
            continue
        if len(f) < sep + 3:
            continue
        mountpoint = unescape(f[4])
        # Stacked mounts: the last one listed is the one statvfs sees.
        by_mountpoint.pop(mountpoint, None)
        by_mountpoint[mountpoint] = MountReading(
            unescape(f[sep + 2]), mountpoint, f[sep + 1], f[5], dev_id=f[2], root=unescape(f[3])
        )
    return list(by_mountpoint.values())
