"""Which URLs traffic may hit: loadgen itself, allow-listed origins, never link-local or metadata addresses.

A target is parsed once, by the parser of the HTTP client that sends the traffic (urllib3's
`parse_url`), and that parsed object is what is checked and what is used: the worker connects to the
address that was resolved and checked here (pinned, so DNS cannot change in between), with the original
name in `Host` (and as the TLS server name). Strings that parsers read differently are refused outright:
userinfo, backslashes, control characters or spaces, percent-encoded or numeric host forms.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from urllib3.exceptions import LocationParseError
from urllib3.util import Url, parse_url

from loadgen.exceptions import TargetNotAllowed

Resolver = Callable[[str], Iterable[str]]

MAX_URL_LENGTH = 2048
METADATA_HOSTS = frozenset({"metadata", "metadata.google.internal", "metadata.goog", "instance-data"})
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200", "168.63.129.16")
)
DEFAULT_PORTS = {"http": 80, "https": 443}
_UNSAFE_CHARS = re.compile(r"[\x00-\x20\x7f\\]")
_NUMERIC_LABEL = re.compile(r"0x[0-9a-f]*|[0-9]+")  # what inet_aton reads as a number: 0x7f.1, 017.0.0.1
_DNS_NAME = re.compile(r"(?=.*[a-z])[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*")


@dataclass(frozen=True)
class Target:
    """One vetted traffic target: where to connect (a checked address) and what to call it."""

    url: str  # scheme://<checked address>:port/path?query: what the worker requests
    host_header: str  # the name the server expects in Host
    server_name: str  # TLS server name (https)
    shown: str  # the URL as the user gave it (spans, reports)

    def to_json(self) -> dict[str, str]:
        return {"url": self.url, "host": self.host_header, "server_name": self.server_name, "shown": self.shown}


def tcp_reachable(address: str, port: int) -> bool:
    """Whether something accepts TCP connections at `address`:`port` (one try, one second)."""
    try:
        with socket.create_connection((address, port), timeout=1.0):
            return True
    except OSError:
        return False


def system_resolver(host: str) -> list[str]:
    """Every address `host` resolves to."""
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except socket.gaierror as exc:
        raise TargetNotAllowed(f"host {host!r} does not resolve ({exc.strerror})", field="endpoints") from exc
    return [str(info[4][0]) for info in infos]


def forbidden_address(address: str) -> str | None:
    """Why `address` must never be a traffic target, or None when it may be."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return forbidden_address(str(ip.ipv4_mapped))  # ::ffff:169.254.169.254 is the metadata address
    if ip.is_loopback:
        return None  # ::1 sits in a reserved block, yet is this host; the allow-list decides about it
    if ip in METADATA_ADDRESSES:
        return "a cloud metadata address"
    if ip.is_link_local:
        return "link-local (169.254.0.0/16, fe80::/10)"
    if ip.is_multicast or ip.is_unspecified or ip.is_reserved:
        return "not a unicast address"
    return None


def canonical_host(host: str) -> str | None:
    """The host in canonical form (IPv4 dotted quad, IPv6 without brackets, lower-case DNS name), or None.

    Forms that one resolver or parser reads as another host (`2130706433`, `0x7f.1`, `127.1`,
    percent-encoding, a trailing dot) are not canonical.
    """
    if host.startswith("[") and host.endswith("]"):
        try:
            return str(ipaddress.IPv6Address(host[1:-1]))
        except ValueError:
            return None
    try:
        address = ipaddress.IPv4Address(host)
    except ValueError:
        numeric = all(_NUMERIC_LABEL.fullmatch(label) for label in host.split("."))
        return host if _DNS_NAME.fullmatch(host) and not numeric else None
    return str(address) if str(address) == host else None


def parse_target(raw: str, field: str) -> Url:
    """Parse `raw` with the traffic client's own parser and refuse anything ambiguous, naming why."""

    def refuse(reason: str) -> TargetNotAllowed:
        return TargetNotAllowed(f"{raw[:200]!r} {reason}", field=field, value=raw[:200])

    if len(raw) > MAX_URL_LENGTH:
        raise refuse(f"is longer than {MAX_URL_LENGTH} characters")
    if _UNSAFE_CHARS.search(raw):
        raise refuse("contains a control character, a space or a backslash")
    try:
        url = parse_url(raw)
    except LocationParseError as exc:
        raise refuse(f"is not a URL: {exc}") from exc
    if url.scheme not in DEFAULT_PORTS or not url.host or not raw.lower().startswith(f"{url.scheme}://"):
        raise refuse("is neither a path starting with / nor an http(s) URL")
    authority = re.split(r"[/?#]", raw.split("://", 1)[1], maxsplit=1)[0]
    if url.auth is not None or "@" in authority:
        raise refuse("has a user name or password (userinfo); targets take none")
    if "%" in authority:
        raise refuse("has a percent-encoded host; write the host as it is (non-canonical form)")
    if canonical_host(url.host) is None:
        raise refuse("has a host in a non-canonical form; write it as a plain name or a dotted IPv4 address")
    if url.port is not None and not 0 < url.port < 65536:
        raise refuse("has a port outside 1-65535")
    return url


def _origin(url: Url) -> tuple[str, str, int]:
    scheme = str(url.scheme)
    return scheme, str(canonical_host(str(url.host))), url.port or DEFAULT_PORTS[scheme]


def _origin_text(origin: tuple[str, str, int]) -> str:
    scheme, host, port = origin
    return f"{scheme}://{f'[{host}]' if ':' in host else host}:{port}"


def resolve_targets(
    endpoints: Sequence[str],
    own_url: str,
    allow: Sequence[str],
    resolver: Resolver = system_resolver,
    reachable: Callable[[str, int], bool] = tcp_reachable,
) -> tuple[Target, ...]:
    """Turn request endpoints into vetted targets, refusing anything outside the allow-list.

    Paths (`/api/demo/ok`) go to loadgen itself; absolute URLs must belong to `own_url` or an allowed origin.
    Every address a name resolves to is checked; the traffic is pinned to the first of them that accepts
    connections (`localhost` may answer on 127.0.0.1 but not on ::1), like a client falling back.
    """
    allowed = {_origin(parse_target(o, "allow")) for o in (own_url, *allow)}
    targets: list[Target] = []
    for index, endpoint in enumerate(endpoints):
        field = f"endpoints.{index}"
        raw = own_url + endpoint if endpoint.startswith("/") and not endpoint.startswith("//") else endpoint
        url = parse_target(raw, field)
        origin = _origin(url)
        scheme, host, port = origin
        if host in METADATA_HOSTS:
            raise TargetNotAllowed(f"{host!r} is a cloud metadata host and is never a target", field=field)
        if origin not in allowed:
            raise TargetNotAllowed(
                f"{_origin_text(origin)} is not allow-listed; allowed: {sorted(_origin_text(o) for o in allowed)} "
                "(add origins with HERON_LOADGEN_TRAFFIC_ALLOW)",
                field=field,
                value=endpoint[:200],
            )
        addresses = list(resolver(host))
        if not addresses:
            raise TargetNotAllowed(f"{host!r} resolves to no address", field=field, value=endpoint[:200])
        for address in addresses:
            reason = forbidden_address(address)
            if reason:
                raise TargetNotAllowed(f"{host!r} resolves to {address}, {reason}", field=field, value=endpoint[:200])
        plain = [address.split("%", 1)[0] for address in addresses]
        pinned = plain[0] if len(plain) == 1 else next((a for a in plain if reachable(a, port)), plain[0])
        path = url.request_uri
        name = f"[{host}]" if ":" in host else host
        targets.append(
            Target(
                url=Url(scheme=scheme, host=f"[{pinned}]" if ":" in pinned else pinned, port=port, path=path).url,
                host_header=name if port == DEFAULT_PORTS[scheme] else f"{name}:{port}",
                server_name=host,
                shown=raw,
            )
        )
    return tuple(targets)
