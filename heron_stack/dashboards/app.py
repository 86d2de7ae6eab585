"""App (RED): request rate, errors and duration per service and route, from the Heron SDK, with logs."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard, timeseries

from alert_worker.anomaly.compile import zscore_expr
from alert_worker.anomaly.pack import default_specs
from heron_stack.dashboards._panels import Q, anomaly_steps, base, label_variable, log_panel, single, thresholds, ts

RATE = "$__rate_interval"
COUNT = "http_server_request_duration_seconds_count"
BUCKET = "http_server_request_duration_seconds_bucket"
S = 'service_name=~"$service"'
ERROR_STEPS = thresholds((None, "green"), (0.01, "yellow"), (0.05, "red"))


def _error_ratio(by: str) -> str:
    total = f"sum by ({by}) (rate({COUNT}{{{S}}}[{RATE}]))"
    errors = f'sum by ({by}) (rate({COUNT}{{{S}, http_response_status_code=~"5.."}}[{RATE}]))'
    return f"({errors} or 0 * {total}) / {total}"


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
            "Rate, errors and duration of HTTP requests served by apps "
            "instrumented with the Heron SDK, and their logs.",
            ["apps"],
        )
        .with_variable(label_variable("service", "Service", COUNT, "service_name"))
        .with_panel(
            single(
                "Requests /s",
                "Requests served per second by the selected services.",
                "reqps",
                Q(f"sum(rate({COUNT}{{{S}}}[{RATE}]))"),
                width=6,
            )
        )
        .with_panel(
            single(
                "Error rate",
                "Share of requests answered with a 5xx status.",
                "percentunit",
                Q(_error_ratio("job").replace("sum by (job)", "sum")),
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
                Q(f"histogram_quantile(0.95, sum by (le) (rate({BUCKET}{{{S}}}[{RATE}])))"),
                steps=thresholds((None, "green"), (0.3, "yellow"), (1, "red")),
                width=6,
            )
        )
        .with_panel(
            single(
                "Errors captured /s",
                "Exceptions the SDK captured (uncaught, Flask, Celery, capture_exception).",
                "short",
                Q(f"sum(rate(heron_errors_total{{{S}}}[{RATE}])) or vector(0)"),
                steps=thresholds((None, "green"), (0.001, "red")),
                width=6,
            )
        )
        .with_panel(
            ts(
                "Request rate by route",
                "Requests per second per service and route.",
                "reqps",
                [
                    Q(
                        f"sum by (service_name, http_route) (rate({COUNT}{{{S}}}[{RATE}]))",
                        "{{service_name}} {{http_route}}",
                    )
                ],
            )
        )
        .with_panel(
            ts(
                "Error rate by route",
                "Share of 5xx answers per service and route.",
                "percentunit",
                [Q(_error_ratio("service_name, http_route"), "{{service_name}} {{http_route}}")],
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
                        f"histogram_quantile({p}, sum by (le, service_name, http_route) "
                        f"(rate({BUCKET}{{{S}}}[{RATE}])))",
                        f"p{pct} {{{{service_name}}}} {{{{http_route}}}}",
                    )
                    for p, pct in ((0.5, 50), (0.95, 95), (0.99, 99))
                ],
                width=24,
            )
        )
        .with_panel(_anomaly_panel())
        .with_panel(
            ts(
                "Errors by type",
                "Captured exceptions per second by type.",
                "short",
                [Q(f"sum by (error_type) (rate(heron_errors_total{{{S}}}[{RATE}])) or vector(0)", "{{error_type}}")],
            )
        )
        .with_panel(
            log_panel(
                "Logs of the selected services",
                "Log records of the selected services; a trace id links to every log of that request.",
                '{service.name=~"$service"}',
                width=12,
            )
        )
    )
