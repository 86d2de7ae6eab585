"""What every Heron HTTP surface checks before it serves a request: loopback is not a trust boundary.

A web page in the operator's browser can reach 127.0.0.1, so a service that listens there must still
refuse what a browser would send on a foreign page's behalf:

- **Host** must name this service: a loopback name or address, the address it binds, or a name the
  operator allows. Anything else (a DNS-rebinding page's own name, `0.0.0.0`) gets 421.
- **Changes** (POST, PUT, PATCH, DELETE) must come from this origin: a foreign `Origin`, `Origin: null`,
  or `Sec-Fetch-Site: cross-site|same-site` gets 403.
- **Bodies of changes** must be `application/json` (415 otherwise), so a cross-origin request always
  needs a CORS preflight, which Heron never grants (it sends no `Access-Control-Allow-*` header).
  A change without a body and without a Content-Type passes this check (the Host and Origin checks
  still apply to it).

The policy is pure (`Guard.check`); `flask_guard` installs it on a Flask app.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from flask import Flask, Response

WILDCARDS = frozenset({"0.0.0.0", "::"})  # noqa: S104 - names refused, not bound
CHANGING_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
LOOPBACK_NAMES = frozenset({"localhost"})
ALLOWED_FETCH_SITES = frozenset({"same-origin", "none"})
# A hostname as a browser sends it: DNS labels, an IPv4 literal, or a bracketed IPv6 literal.
_HOSTNAME = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*")
_HOST_HEADER = re.compile(r"(?P<host>\[[0-9a-f:.]+\]|[^:\[\]]+)(?::(?P<port>\d{1,5}))?")


@dataclass(frozen=True)
class Refusal:
    """Why a request is refused: the HTTP status, a short code and a message that says what to do."""

    status: int
    code: str
    message: str


def normalise_host(name: str) -> str | None:
    """A host name or address in canonical form (lower case, no trailing dot, IPv6 unbracketed), or None."""
    name = name.strip().lower()
    if name.startswith("[") and name.endswith("]"):
        try:
            return str(ipaddress.IPv6Address(name[1:-1]))
        except ValueError:
            return None
    name = name.removesuffix(".")
    try:
        return str(ipaddress.IPv4Address(name))
    except ValueError:
        pass
    if not _HOSTNAME.fullmatch(name) or name.replace(".", "").isdigit():
        return None  # e.g. `2130706433` or `127.1`: no browser sends these as a Host
    return name


def split_host_header(value: str) -> tuple[str, int | None] | None:
    match = _HOST_HEADER.fullmatch(value.strip())
    if match is None:
        return None
    host = normalise_host(match.group("host"))
    port = match.group("port")
    if host is None or (port is not None and not 0 < int(port) < 65536):
        return None
    return host, int(port) if port else None


def _is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_allowed_hosts(raw: str, variable: str) -> frozenset[str]:
    """An operator's comma-separated list of extra Host names; raises ValueError naming the bad entry."""
    out = set()
    for item in (part.strip() for part in raw.split(",")):
        if not item:
            continue
        host = normalise_host(item)
        if host is None or host in {"0.0.0.0", "::"}:  # noqa: S104 - refusing the wildcard, not binding it
            raise ValueError(
                f"{variable}={raw!r}: {item!r} is not a host name or address "
                "(a comma-separated list of names such as heron.example.com or 10.0.0.5, without ports)"
            )
        out.add(host)
    return frozenset(out)


@dataclass(frozen=True)
class Guard:
    """The Host/Origin/Content-Type policy of one HTTP surface."""

    service: str
    bind_host: str
    extra_hosts: frozenset[str] = frozenset()
    hosts_variable: str = ""

    def host_allowed(self, host: str) -> bool:
        bound = normalise_host(self.bind_host)
        named = bound is not None and bound not in WILDCARDS  # 0.0.0.0 is no name of this service
        return _is_loopback(host) or (named and host == bound) or host in self.extra_hosts

    def check(self, method: str, headers: Mapping[str, str]) -> Refusal | None:
        host_header = headers.get("Host", "")
        parsed = split_host_header(host_header)
        if parsed is None or not self.host_allowed(parsed[0]):
            hint = (
                f"; to reach it by another name, add that name to {self.hosts_variable}" if self.hosts_variable else ""
            )
            return Refusal(
                421,
                "misdirected_request",
                f"Host {host_header!r} is not a name of this {self.service}: use a loopback address{hint}",
            )
        if method.upper() not in CHANGING_METHODS:
            return None
        return self._check_origin(headers, host_header) or self._check_body(method, headers)

    def _check_origin(self, headers: Mapping[str, str], host_header: str) -> Refusal | None:
        site = headers.get("Sec-Fetch-Site", "").strip().lower()
        if site and site not in ALLOWED_FETCH_SITES:
            return Refusal(
                403, "cross_site_request", f"refused a change requested by another site (Sec-Fetch-Site: {site})"
            )
        origin = headers.get("Origin")
        if origin is None:
            return None  # not a browser page (curl, scripts); the Host check still applies
        parts = urlsplit(origin.strip())
        if (
            origin.strip() == "null"
            or parts.scheme not in {"http", "https"}
            or parts.netloc.lower() != host_header.lower()
        ):
            return Refusal(403, "cross_origin_request", f"refused a change requested by the page at {origin!r}")
        return None

    @staticmethod
    def _check_body(method: str, headers: Mapping[str, str]) -> Refusal | None:
        content_type = headers.get("Content-Type", "").split(";")[0].strip().lower()
        if content_type == "application/json":
            return None
        bodiless = headers.get("Content-Length", "0").strip() in {"", "0"} and "Transfer-Encoding" not in headers
        if not content_type and bodiless:
            # A bodiless change (POST .../pause, DELETE .../stop) carries no data to type; the Host and
            # Origin/Sec-Fetch-Site checks above have already run for it.
            return None
        shown = content_type or "none"
        return Refusal(
            415,
            "unsupported_media_type",
            f"changes take a JSON body: send Content-Type: application/json (got {shown})",
        )


def flask_guard(
    app: Flask, guard: Guard, respond: Callable[[Refusal], Response], *, exempt: Iterable[str] = ()
) -> None:
    """Run `guard` before every request of `app`; `respond` turns a refusal into the app's JSON error."""
    from flask import request

    skip = frozenset(exempt)

    def check() -> Response | None:
        if request.path in skip:
            return None
        # An unknown path or method changes nothing: only the Host check applies, then 404/405 as usual.
        method = "GET" if request.routing_exception is not None else request.method
        refusal = guard.check(method, dict(request.headers.items()))
        return respond(refusal) if refusal else None

    def no_cross_origin_grants(response: Any) -> Any:
        for name in {k for k, _ in response.headers.items() if k.lower().startswith("access-control-allow-")}:
            del response.headers[name]
        response.headers.setdefault("Vary", "Origin")
        return response

    app.before_request(check)
    app.after_request(no_cross_origin_grants)
