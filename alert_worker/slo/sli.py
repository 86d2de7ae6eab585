"""PromQL of SLIs: the shorthand over the Heron SDK's HTTP server metrics, and user-written event queries.

Every query is a template with `{{.window}}` (Sloth's placeholder) where the range goes. The shorthand's
metric names and label matchers live here only, so switching them to other recorded series is one edit.
"""

from __future__ import annotations

from dataclasses import dataclass

WINDOW = "{{.window}}"

REQUESTS = "http_server_request_duration_seconds"
"""`http.server.request.duration` (seconds histogram) as it reaches Prometheus from the SDK."""

SDK_DURATION_BUCKETS_S: tuple[float, ...] = (
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
)  # fmt: skip
"""The SDK's bucket boundaries (`heron` DURATION_BUCKETS; a test holds the two equal)."""

HTTP_KINDS = ("availability", "latency")


@dataclass(frozen=True)
class Events:
    """Bad and total events per second over `{{.window}}`, as PromQL templates."""

    error: str
    total: str

    def ratio(self, window: str) -> str:
        """The error ratio over `window`: bad events / all events."""
        return f"({self.error.replace(WINDOW, window)}) / ({self.total.replace(WINDOW, window)})"


def bucket_ms(seconds: float) -> str:
    """A bucket boundary in milliseconds as people write it (`250ms`, `2500ms`)."""
    return f"{seconds * 1000:g}ms"


def _le(seconds: float) -> str:
    # Remote write sends `le="1"`, Prometheus 3 scraping text writes `le="1.0"`: match both for whole seconds.
    if seconds == int(seconds):
        return f'le=~"{int(seconds)}(\\\\.0)?"'
    return f'le="{seconds:g}"'


def _selector(service: str, extra: str) -> str:
    parts = [f'service_name="{service}"'] + ([extra] if extra else [])
    return ", ".join(parts)


def http_availability(service: str, filter_: str = "") -> Events:
    """Good: any answer but a 5xx."""
    sel = _selector(service, filter_)
    total = f"sum(rate({REQUESTS}_count{{{sel}}}[{WINDOW}]))"
    errors = f'sum(rate({REQUESTS}_count{{{sel}, http_response_status_code=~"5.."}}[{WINDOW}])) or vector(0)'
    return Events(errors, total)


def http_latency(service: str, under_s: float, filter_: str = "") -> Events:
    """Good: answered within `under_s` seconds (a bucket boundary), whatever the status."""
    sel = _selector(service, filter_)
    total = f"sum(rate({REQUESTS}_count{{{sel}}}[{WINDOW}]))"
    good = f"sum(rate({REQUESTS}_bucket{{{sel}, {_le(under_s)}}}[{WINDOW}]))"
    return Events(f"{total} - {good}", total)


def from_good(good: str, total: str) -> Events:
    """User queries for good and total events."""
    return Events(f"({total}) - ({good})", total)
