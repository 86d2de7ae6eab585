"""Socket counts by transport and state over netlink sock_diag: far cheaper than formatting /proc/net/tcp."""

from __future__ import annotations

import socket
import struct

from otel_agent.sources.procparse import TCP_STATES

NETLINK_SOCK_DIAG = 4
SOCK_DIAG_BY_FAMILY = 20
NLMSG_ERROR, NLMSG_DONE = 2, 3
NLM_F_REQUEST_DUMP = 0x1 | 0x300
ALL_STATES = 0xFFFFFFFF
_HEADER = struct.Struct("=IHHII")
_REQUEST = struct.Struct("=BBBBI48x")
_STATE_NAMES = {int(code, 16): name for code, name in TCP_STATES.items()}


def _dump(sock: socket.socket, family: int, protocol: int, transport: str, counts: dict[tuple[str, str], int]) -> None:
    body = _REQUEST.pack(family, protocol, 0, 0, ALL_STATES)
    sock.send(_HEADER.pack(_HEADER.size + len(body), SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST_DUMP, 1, 0) + body)
    tcp = transport == "tcp"
    while True:
        data = sock.recv(65536)
        offset, end = 0, len(data)
        while offset + _HEADER.size <= end:
            length, kind = struct.unpack_from("=IH", data, offset)
            if kind == NLMSG_DONE:
                return
            if kind == NLMSG_ERROR or length < _HEADER.size:
                raise OSError("sock_diag dump refused")
            # inet_diag_msg starts right after the header: family (1 byte), then state (1 byte).
            state = _STATE_NAMES.get(data[offset + _HEADER.size + 1], "closed") if tcp else ""
            key = (transport, state)
            counts[key] = counts.get(key, 0) + 1
            offset += (length + 3) & ~3


def count_connections(udp_in_use: int | None = None) -> dict[tuple[str, str], int]:
    """Count TCP sockets by state and UDP sockets, IPv4 and IPv6, in this network namespace.

    UDP has no states: when the caller already knows the number in use (from /proc/net/sockstat), the
    two UDP dumps are skipped.
    """
    counts: dict[tuple[str, str], int] = {}
    with socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, NETLINK_SOCK_DIAG) as sock:
        for family in (socket.AF_INET, socket.AF_INET6):
            _dump(sock, family, socket.IPPROTO_TCP, "tcp", counts)
            if udp_in_use is None:
                _dump(sock, family, socket.IPPROTO_UDP, "udp", counts)
    if udp_in_use:
        counts[("udp", "")] = udp_in_use
    return counts
