"""Which URLs traffic may hit: loadgen itself, allow-listed origins, never link-local or metadata addresses."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable, Sequence
from urllib.parse import urlsplit

from loadgen.exceptions import TargetNotAllowed

Resolver = Callable[[str], Iterable[str]]

METADATA_HOSTS = frozenset({"metadata", "metadata.google.internal", "metadata.goog", "instance-data"})
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200", "168.63.129.16")
)


def system_resolver(host: str) -> list[str]:
    """Every address `host` resolves to."""
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except socket.gaierror as exc:
        raise TargetNotAllowed(f"host {host!r} does not resolve ({exc.strerror})", field="endpoints") from exc
    return [str(info[4][0]) for info in infos]


def _origin(url: str) -> str:
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"{parts.scheme}://{(parts.hostname or '').lower()}:{port}"


def forbidden_address(address: str) -> str | None:
    """Why `address` must never be a traffic target, or None when it may be."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if ip in METADATA_ADDRESSES:
        return "a cloud metadata address"
    if ip.is_link_local:
        return "link-local (169.254.0.0/16, fe80::/10)"
    if ip.is_multicast or ip.is_unspecified or ip.is_reserved:
        return "not a unicast address"
    return None


def resolve_targets(
    endpoints: Sequence[str], own_url: str, allow: Sequence[str], resolver: Resolver = system_resolver
) -> tuple[str, ...]:
    """Turn request endpoints into absolute URLs, refusing anything outside the allow-list.

    Paths (`/api/demo/ok`) go to loadgen itself; absolute URLs must belong to `own_url` or an allowed origin.
    """
    allowed = {_origin(own_url)} | {_origin(a) for a in allow}
    urls: list[str] = []
    for index, endpoint in enumerate(endpoints):
        field = f"endpoints.{index}"
        url = own_url + endpoint if endpoint.startswith("/") and not endpoint.startswith("//") else endpoint
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise TargetNotAllowed(
                f"{endpoint!r} is neither a path starting with / nor an http(s) URL", field=field, value=endpoint
            )
        host = parts.hostname.lower()
        if host in METADATA_HOSTS:
            raise TargetNotAllowed(f"{host!r} is a cloud metadata host and is never a target", field=field)
        if _origin(url) not in allowed:
            raise TargetNotAllowed(
                f"{_origin(url)} is not allow-listed; allowed: {sorted(allowed)} "
                "(add origins with HERON_LOADGEN_TRAFFIC_ALLOW)",
                field=field,
                value=endpoint,
            )
        for address in resolver(host):
            reason = forbidden_address(address)
            if reason:
                raise TargetNotAllowed(f"{host!r} resolves to {address}, {reason}", field=field, value=endpoint)
        urls.append(url)
    return tuple(urls)
