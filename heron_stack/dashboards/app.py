"""App (RED): rate, errors and duration per service and route for any OpenTelemetry app, with logs.

Every RED panel reads the normalized family of prometheus/recording/heron-red.recording.yml
(heron_stack/red_rules.py): stable HTTP metrics, the older http.server.duration or the collector's
span metrics, one source per service. Only "Exceptions by type" reads heron_errors_total, a detail
that apps instrumented with the Heron SDK add.
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard, timeseries

from alert_worker.anomaly.compile import zscore_expr
from alert_worker.anomaly.pack import default_specs
from heron_stack.dashboards._panels import (
    Q,
    anomaly_steps,
    base,
    grid,
    label_variable,
    log_panel,
    single,
    thresholds,
    ts,
)
from heron_stack.red_rules import name

S = 'service_name=~"$service"'


def _red(level: str, metric: str) -> str:
    """The 1-minute series, each filled from the 5-minute one where the minute held too few samples
    (an app exporting every 60 s, the OpenTelemetry default, leaves one sample in a minute)."""
    return f"({name(level, metric, '1m')}{{{S}}} or {name(level, metric, '5m')}{{{S}}})"


REQUESTS = _red("service", "requests")
ERRORS = _red("service", "errors")
BUCKETS = _red("service", "duration_seconds_bucket")
ROUTE_REQUESTS = _red("service_route", "requests")
ROUTE_ERRORS = _red("service_route", "errors")
ROUTE_BUCKETS = _red("service_route", "duration_seconds_bucket")
SERVICES = name("service", "requests", "5m")
SDK_ERRORS = "heron_errors_total"
RATE = "$__rate_interval"
ERROR_STEPS = thresholds((None, "green"), (0.01, "yellow"), (0.05, "red"))


def _sum(metric: str, by: str = "") -> str:
    selected = metric if metric.startswith("(") else f"{metric}{{{S}}}"
    return f"sum{f' by ({by})' if by else ''} ({selected})"


def _error_ratio(errors: str, requests: str, by: str = "") -> str:
    return f"{_sum(errors, by)} / ({_sum(requests, by)} > 0)"


def _anomaly_panel() -> timeseries.Panel:
    specs = default_specs()
    parts = (("app_request_rate", "requests"), ("app_error_rate", "errors"), ("app_latency_p95", "p95 latency"))
    z = specs["app_request_rate"].z
    return ts(
        "Anomaly score (\N{GREEK SMALL LETTER SIGMA})",
        "How far request rate, error rate and p95 latency are from their usual value for this time of the "
        f"week, in standard deviations. The anomaly rules fire beyond {z:g} (and a minimum deviation).",
        "short",
        [Q(zscore_expr(specs[name], "{" + S + "}"), f"{{{{service_name}}}} {what}") for name, what in parts],
        min_val=None,
        width=24,
        steps=anomaly_steps(z),
    )


def build() -> dashboard.Dashboard:
    return (
        base(
            "App (RED)",
            "heron-app-red",
            "Rate, errors and duration of the requests served by any OpenTelemetry app (HTTP metrics, "
            "stable or older, or span metrics; one source per service), and their logs.",
            ["apps"],
        )
        .with_variable(label_variable("service", "Service", SERVICES, "service_name"))
        .with_panel(
            single(
                "Requests /s",
                "Requests served per second by the selected services.",
                "reqps",
                Q(_sum(REQUESTS)),
                width=6,
            )
        )
        .with_panel(
            single(
                "Error rate",
                "Share of requests that failed: HTTP 5xx, or span status ERROR for services known by their traces.",
                "percentunit",
                Q(_error_ratio(ERRORS, REQUESTS)),
                steps=ERROR_STEPS,
                min_val=0,
                max_val=1,
                width=6,
            )
        )
        .with_panel(
            single(
                "p95 latency",
                "95th percentile of request duration, all routes.",
                "s",
                Q(f"histogram_quantile(0.95, {_sum(BUCKETS, 'le')})"),
                steps=thresholds((None, "green"), (0.3, "yellow"), (1, "red")),
                width=6,
            )
        )
        .with_panel(
            single(
                "Errors /s",
                "Failed requests per second: HTTP 5xx, or span status ERROR for services known by their traces.",
                "reqps",
                Q(_sum(ERRORS)),
                steps=thresholds((None, "green"), (0.001, "red")),
                width=6,
            )
        )
        .with_panel(
            ts(
                "Request rate by route",
                "Requests per second per service and route.",
                "reqps",
                [Q(_sum(ROUTE_REQUESTS, "service_name, http_route"), "{{service_name}} {{http_route}}")],
            )
        )
        .with_panel(
            ts(
                "Error rate by route",
                "Share of failed requests per service and route.",
                "percentunit",
                [
                    Q(
                        _error_ratio(ROUTE_ERRORS, ROUTE_REQUESTS, "service_name, http_route"),
                        "{{service_name}} {{http_route}}",
                    )
                ],
                max_val=1,
                steps=ERROR_STEPS,
            )
        )
        .with_panel(
            ts(
                "Latency by route",
                "p50, p95 and p99 of request duration per service and route.",
                "s",
                [
                    Q(
                        f"histogram_quantile({p}, {_sum(ROUTE_BUCKETS, 'le, service_name, http_route')})",
                        f"p{pct} {{{{service_name}}}} {{{{http_route}}}}",
                    )
                    for p, pct in ((0.5, 50), (0.95, 95), (0.99, 99))
                ],
                width=24,
            )
        )
        .with_panel(_anomaly_panel())
        .with_panel(
            grid(
                "Where each service's RED comes from",
                "The source each selected service is measured from: http (stable HTTP server metrics), "
                "http_old (http.server.duration, milliseconds) or spans (the collector's span metrics).",
                "reqps",
                [Q(_sum(SERVICES, "service_name, red_source"))],
                width=12,
            )
        )
        .with_panel(
            ts(
                "Exceptions by type (Heron SDK)",
                "Exceptions the Heron SDK captured per second, by type; apps without the SDK report none here.",
                "short",
                [Q(f"sum by (error_type) (rate({SDK_ERRORS}{{{S}}}[{RATE}])) or vector(0)", "{{error_type}}")],
            )
        )
        .with_panel(
            log_panel(
                "Logs of the selected services",
                "Log records of the selected services; a trace id links to every log of that request.",
                '{service.name=~"$service"}',
                width=24,
            )
        )
    )
