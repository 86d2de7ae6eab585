"""Socket counts by transport and state over netlink sock_diag: far cheaper than formatting /proc/net/tcp."""

from __future__ import annotations

import socket
import struct

from otel_agent.sources.procparse import TCP_STATES

NETLINK_SOCK_DIAG = 4
SOCK_DIAG_BY_FAMILY = 20
TCPDIAG_GETSOCK = 18
NLMSG_ERROR, NLMSG_DONE = 2, 3
NLM_F_REQUEST_DUMP = 0x1 | 0x300
ALL_STATES = 0xFFFFFFFF
_HEADER = struct.Struct("=IHHII")
_REQUEST = struct.Struct("=BBBBI48x")  # inet_diag_req_v2: family, protocol, ext, pad, states, sockid
_LEGACY_REQUEST = struct.Struct("=BBBB48xII")  # inet_diag_req: family, src_len, dst_len, ext, sockid, states, dbs
_STATE_NAMES = {int(code, 16): name for code, name in TCP_STATES.items()}


def _count(sock: socket.socket, transport: str, counts: dict[tuple[str, str], int]) -> None:
    """Read one dump's answers and count them by (transport, TCP state)."""
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


def _dump(sock: socket.socket, family: int, protocol: int, transport: str, counts: dict[tuple[str, str], int]) -> None:
    body = _REQUEST.pack(family, protocol, 0, 0, ALL_STATES)
    sock.send(_HEADER.pack(_HEADER.size + len(body), SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST_DUMP, 1, 0) + body)
    _count(sock, transport, counts)


def _dump_tcp_both_families(sock: socket.socket, counts: dict[tuple[str, str], int]) -> None:
    """One walk of the TCP hash tables for IPv4 and IPv6 together.

    The kernel keeps both families in the same tables, and a per-family request walks all of them and
    skips the other family's sockets; the older TCPDIAG_GETSOCK request asks for any family, which
    halves the walk, the dominant cost on a host with a large table.
    """
    body = _LEGACY_REQUEST.pack(socket.AF_INET, 0, 0, 0, ALL_STATES, 0)
    sock.send(_HEADER.pack(_HEADER.size + len(body), TCPDIAG_GETSOCK, NLM_F_REQUEST_DUMP, 1, 0) + body)
    _count(sock, "tcp", counts)


def count_connections(udp_in_use: int | None = None) -> dict[tuple[str, str], int]:
    """Count TCP sockets by state and UDP sockets, IPv4 and IPv6, in this network namespace.

    UDP has no states: when the caller already knows the number in use (from /proc/net/sockstat), the
    two UDP dumps are skipped.
    """
    counts: dict[tuple[str, str], int] = {}
    with socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, NETLINK_SOCK_DIAG) as sock:
        try:
            _dump_tcp_both_families(sock, counts)
        except OSError:  # a kernel without the compatibility request: one dump per family
            counts.clear()
            with socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, NETLINK_SOCK_DIAG) as fresh:
                for family in (socket.AF_INET, socket.AF_INET6):
                    _dump(fresh, family, socket.IPPROTO_TCP, "tcp", counts)
        if udp_in_use is None:
            for family in (socket.AF_INET, socket.AF_INET6):
                _dump(sock, family, socket.IPPROTO_UDP, "udp", counts)
    if udp_in_use:
        counts[("udp", "")] = udp_in_use
    return counts
