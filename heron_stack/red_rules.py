"""Recording rules that give every OpenTelemetry app one RED family, whatever it emits.

Apps report requests in one of three shapes, and the App (RED) dashboard and the app alert rules
read only the normalized family built here:

- ``http``: the stable HTTP server histogram ``http.server.request.duration`` (seconds; Heron's SDK,
  upstream instrumentations with ``OTEL_SEMCONV_STABILITY_OPT_IN=http``, most non-Python agents);
- ``http_old``: the older ``http.server.duration`` (milliseconds, ``http.status_code``, route in
  ``http.route`` or ``http.target``), what upstream Python instrumentations emit without the stable opt-in;
- ``spans``: the collector's span metrics of server and consumer spans (any app that sends traces).

A service is counted once: per service the first source whose counts arrived in the last
``CHOICE_WINDOW`` wins (``unless on (service_name)``), so an app sending both HTTP metrics and traces is
not doubled. The choice is recorded once (``service:heron_red_source:present10m``) and every window
reuses it, so a window that happens to hold too few samples of the chosen source (an app exporting
every 60 s leaves one sample in a minute) is empty rather than switching to another source.
Errors are 5xx answers for the HTTP sources, and span status ERROR or a 5xx status for spans.

`python -m heron_stack.red_rules` writes prometheus/recording/heron-red.recording.yml; a unit test
holds the checked-in file to this generator.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from heron_stack.config import PROJECT_DIR

RULES_FILE = PROJECT_DIR / "prometheus" / "recording" / "heron-red.recording.yml"
WINDOWS = ("1m", "5m")
CHOICE_WINDOW = "10m"
"""How long a source must have been silent before a service falls back to the next one."""
"""1m feeds the dashboard panels; 5m feeds the alert rules and the service list."""
SOURCES = ("http", "http_old", "spans")
"""Precedence: an earlier source present for a service hides the later ones."""
ROUTE = ("service_name", "http_route")
SPAN_KINDS = 'span_kind=~"SPAN_KIND_SERVER|SPAN_KIND_CONSUMER"'

# Old-convention bucket bounds are milliseconds; the collector writes them as plain decimals
# ("5", "250", "2500", "0.5"). Dividing by 1000 moves the decimal point three places left.
# The patterns go into PromQL raw strings (backticks), so their backslashes stay as they are.
LE_MS_TO_S = (
    (r"(\d+)(\d{3})(?:\.(\d+))?", "$1.$2$3"),
    (r"(\d{3})(?:\.(\d+))?", "0.$1$2"),
    (r"(\d{2})(?:\.(\d+))?", "0.0$1$2"),
    (r"(\d)(?:\.(\d+))?", "0.00$1$2"),
    (r"\+Inf", "+Inf"),
)


@dataclass(frozen=True)
class Source:
    """Where one source keeps its counts, and how its errors and routes are told."""

    name: str
    count: str
    bucket: str
    matchers: str
    errors: tuple[str, ...]
    route_fallback: str
    le_in_ms: bool = False


HTTP = Source(
    "http",
    "http_server_request_duration_seconds_count",
    "http_server_request_duration_seconds_bucket",
    "",
    ('http_response_status_code=~"5.."',),
    "",
)
HTTP_OLD = Source(
    "http_old",
    "http_server_duration_milliseconds_count",
    "http_server_duration_milliseconds_bucket",
    "",
    ('http_status_code=~"5.."',),
    "http_target",
    le_in_ms=True,
)
SPANS = Source(
    "spans",
    "traces_span_metrics_calls_total",
    "traces_span_metrics_duration_seconds_bucket",
    SPAN_KINDS,
    ('status_code="STATUS_CODE_ERROR"', 'http_response_status_code=~"5.."'),
    "span_name",
)
ALL_SOURCES = (HTTP, HTTP_OLD, SPANS)


def name(level: str, metric: str, window: str) -> str:
    """A recorded series' name, in Prometheus' level:metric:operations convention."""
    return f"{level}:heron_red_{metric}:rate{window}"


def _selector(metric: str, *matchers: str) -> str:
    inner = ", ".join(m for m in matchers if m)
    return f"{metric}{{{inner}}}" if inner else metric


def _routed_rate(source: Source, metric: str, window: str, extra: str = "") -> str:
    """rate() of a source's series with http_route filled from its fallback label where it is empty."""
    if not source.route_fallback:
        return f"rate({_selector(metric, source.matchers, extra)}[{window}])"
    empty = _selector(metric, source.matchers, extra, 'http_route=""')
    named = _selector(metric, source.matchers, extra, 'http_route!=""')
    empty, named = f"rate({empty}[{window}])", f"rate({named}[{window}])"
    # The fallback (http.target) holds the raw path with its query string: keep the path only.
    fallback = f'label_replace({empty}, "http_route", "$1", "{source.route_fallback}", "([^?]*).*")'
    return f"{fallback} or {named}"


def _rule(record: str, by: tuple[str, ...], expr: str, source: Source) -> dict[str, Any]:
    return {"record": record, "expr": f"sum by ({', '.join(by)}) ({expr})", "labels": {"red_source": source.name}}


def _seconds_le(expr: str) -> str:
    """Bucket bounds in milliseconds rewritten as seconds, through a scratch label."""
    for pattern, replacement in LE_MS_TO_S:
        expr = f'label_replace({expr}, "heron_le", "{replacement}", "le", `{pattern}`)'
    return f'label_replace({expr}, "le", "$1", "heron_le", "(.+)")'


def source_rules(source: Source, window: str) -> list[dict[str, Any]]:
    """Per-route requests, errors and duration buckets of one source, labelled red_source."""
    errors = " or ".join(f"({_routed_rate(source, source.count, window, e)})" for e in source.errors)
    buckets = _routed_rate(source, source.bucket, window)
    if source.le_in_ms:
        buckets = _seconds_le(f"({buckets})")
    requests = _routed_rate(source, source.count, window)
    return [
        _rule(name("service_route_source", "requests", window), ROUTE, requests, source),
        _rule(name("service_route_source", "errors", window), ROUTE, errors, source),
        _rule(name("service_route_source", "duration_seconds_bucket", window), (*ROUTE, "le"), buckets, source),
    ]


CHOICE = f"service:heron_red_source:present{CHOICE_WINDOW}"


def _present(source: Source) -> str:
    seen = f"present_over_time({_selector(source.count, source.matchers)}[{CHOICE_WINDOW}])"
    return f'label_replace(group by (service_name) ({seen}), "red_source", "{source.name}", "", "")'


def choice_rule() -> dict[str, Any]:
    """One source per service, the first of SOURCES whose counts arrived within CHOICE_WINDOW; value 1."""
    parts = []
    for i, source in enumerate(ALL_SOURCES):
        if i == 0:
            parts.append(_present(source))
        else:
            better = " or ".join(_present(s) for s in ALL_SOURCES[:i])
            parts.append(f"({_present(source)} unless on (service_name) ({better}))")
    return {"record": CHOICE, "expr": " or ".join(parts)}


def _service_labels(metric: str) -> str:
    return "service_name, red_source, le" if metric.endswith("bucket") else "service_name, red_source"


def normalized_rules(window: str) -> list[dict[str, Any]]:
    """The one RED family the dashboard and the rules read: per route, then per service."""
    src = {m: name("service_route_source", m, window) for m in ("requests", "errors", "duration_seconds_bucket")}
    route = {m: name("service_route", m, window) for m in src}
    service = {m: name("service", m, window) for m in src}
    chosen = f"on (service_name, red_source) {CHOICE}"
    return [
        {"record": route["requests"], "expr": f"{src['requests']} and {chosen}"},
        {"record": route["errors"], "expr": f"({src['errors']} and {chosen}) or 0 * {route['requests']}"},
        {"record": route["duration_seconds_bucket"], "expr": f"{src['duration_seconds_bucket']} and {chosen}"},
        *({"record": service[m], "expr": f"sum by ({_service_labels(m)}) ({route[m]})"} for m in src),
        {
            "record": name("service", "error_ratio", window),
            "expr": f"{service['errors']} / ({service['requests']} > 0)",
        },
    ]


def groups() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = [{"name": "heron-red-source", "rules": [choice_rule()]}]
    for window in WINDOWS:
        rules = [r for s in ALL_SOURCES for r in source_rules(s, window)] + normalized_rules(window)
        out.append({"name": f"heron-red-{window}", "rules": rules})
    return out


HEADER = """\
# Generated by `python -m heron_stack.red_rules`; edit heron_stack/red_rules.py, not this file.
# One RED family for every OpenTelemetry app (docs/dashboards.md, "RED for any app"): stable HTTP
# metrics, the older http.server.duration (ms) and span metrics, one source per service.
"""


def render() -> str:
    body = yaml.safe_dump({"groups": groups()}, sort_keys=False, width=10_000)
    return HEADER + body


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m heron_stack.red_rules", description="Write the normalized RED recording rules."
    )
    parser.add_argument("--out", type=Path, default=RULES_FILE, help=f"file to write (default {RULES_FILE})")
    parser.add_argument("--check", action="store_true", help="exit 1 when the file differs instead of writing it")
    args = parser.parse_args(argv)
    target: Path = args.out
    if args.check:
        current = target.read_text(encoding="utf-8") if target.is_file() else ""
        if current != render():
            print(f"{target} is out of date; run `python -m heron_stack.red_rules`", file=sys.stderr)
            return 1
        print(f"up to date: {target}")
        return 0
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render(), encoding="utf-8")
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
