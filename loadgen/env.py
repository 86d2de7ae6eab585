"""Environment variables read by loadgen: standard OpenTelemetry names first, then `HERON_LOADGEN_*`."""

from __future__ import annotations

from heron_stack.settings import Registry, Setting

OTEL_SDK_DISABLED = "OTEL_SDK_DISABLED"
"""`true` turns off OTLP export of events, metrics and traces (the in-process event log stays)."""

OTEL_EXPORTER_OTLP_ENDPOINT = "OTEL_EXPORTER_OTLP_ENDPOINT"
"""OTLP/HTTP base URL; export is enabled when this (or a per-signal endpoint) is set."""

OTEL_EXPORTER_OTLP_METRICS_ENDPOINT = "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"
OTEL_EXPORTER_OTLP_LOGS_ENDPOINT = "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT"
OTEL_EXPORTER_OTLP_TRACES_ENDPOINT = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"

OTEL_METRIC_EXPORT_INTERVAL = "OTEL_METRIC_EXPORT_INTERVAL"
"""Metric export interval in ms; loadgen defaults to 5000 (the SDK's 60 s is too slow for a live demo)."""

OTEL_SERVICE_NAME = "OTEL_SERVICE_NAME"
"""Service name on every signal; loadgen defaults to `heron-loadgen`."""

HERON_LOADGEN_HOST = "HERON_LOADGEN_HOST"
HERON_LOADGEN_PORT = "HERON_LOADGEN_PORT"
HERON_LOADGEN_ALLOWED_HOSTS = "HERON_LOADGEN_ALLOWED_HOSTS"
HERON_LOADGEN_TOKEN = "HERON_LOADGEN_TOKEN"  # noqa: S105 - a variable name, not a secret
HERON_LOADGEN_TOKEN_FILE = "HERON_LOADGEN_TOKEN_FILE"  # noqa: S105 - a variable name, not a secret
HERON_LOADGEN_DISK_DIR = "HERON_LOADGEN_DISK_DIR"
HERON_LOADGEN_MAX_DURATION_SECONDS = "HERON_LOADGEN_MAX_DURATION_SECONDS"
HERON_LOADGEN_MAX_MEMORY_SHARE = "HERON_LOADGEN_MAX_MEMORY_SHARE"
HERON_LOADGEN_MAX_RATE = "HERON_LOADGEN_MAX_RATE"
HERON_LOADGEN_MAX_CONCURRENT_ACTIONS = "HERON_LOADGEN_MAX_CONCURRENT_ACTIONS"
HERON_LOADGEN_MAX_TRAFFIC_CONCURRENCY = "HERON_LOADGEN_MAX_TRAFFIC_CONCURRENCY"
HERON_LOADGEN_MAX_DISK_MB = "HERON_LOADGEN_MAX_DISK_MB"
HERON_LOADGEN_MAX_DISK_WRITE_MB = "HERON_LOADGEN_MAX_DISK_WRITE_MB"
HERON_LOADGEN_TRAFFIC_ALLOW = "HERON_LOADGEN_TRAFFIC_ALLOW"
HERON_LOADGEN_SELF_URL = "HERON_LOADGEN_SELF_URL"
HERON_LOADGEN_ALERTS_URL = "HERON_LOADGEN_ALERTS_URL"
HERON_LOADGEN_ALERTS_TOKEN = "HERON_LOADGEN_ALERTS_TOKEN"  # noqa: S105 - a variable name, not a secret
HERON_LOADGEN_GRAFANA_URL = "HERON_LOADGEN_GRAFANA_URL"
HERON_LOADGEN_THREADS = "HERON_LOADGEN_THREADS"
HERON_HEALTH_ROUTES = "HERON_HEALTH_ROUTES"
"""Heron SDK: comma-separated paths kept out of spans and metrics; loadgen's default is `/api/health`."""

SETTINGS = Registry(
    "loadgen",
    "Load lab (`loadgen`)",
    (
        Setting(HERON_LOADGEN_HOST, "host", "Bind address; a non-loopback address requires a token.", "127.0.0.1"),
        Setting(HERON_LOADGEN_PORT, "port", "Bind port.", "8080"),
        Setting(
            HERON_LOADGEN_ALLOWED_HOSTS,
            "list",
            "Extra names the load lab answers to in the Host header, besides loopback and its bind address.",
        ),
        Setting(
            HERON_LOADGEN_TOKEN, "secret", "Bearer token (at least 8 characters) required on `/api/*` except health."
        ),
        Setting(
            HERON_LOADGEN_TOKEN_FILE,
            "path",
            "File holding the token (first line); used when HERON_LOADGEN_TOKEN is unset.",
        ),
        Setting(HERON_LOADGEN_DISK_DIR, "path", "Directory for disk I/O temp files.", "the system temp directory"),
        Setting(HERON_LOADGEN_MAX_DURATION_SECONDS, "float", "Longest single action in seconds (up to 86400).", "600"),
        Setting(
            HERON_LOADGEN_MAX_MEMORY_SHARE,
            "float",
            "Largest share of available memory all memory actions together may hold (up to 0.9).",
            "0.5",
        ),
        Setting(
            HERON_LOADGEN_MAX_RATE, "float", "Largest total traffic rate in requests/s across traffic actions.", "2000"
        ),
        Setting(HERON_LOADGEN_MAX_CONCURRENT_ACTIONS, "int", "Most actions running at once (1 to 256).", "8"),
        Setting(
            HERON_LOADGEN_MAX_TRAFFIC_CONCURRENCY,
            "int",
            "Most in-flight requests per traffic action (1 to 1024).",
            "64",
        ),
        Setting(HERON_LOADGEN_MAX_DISK_MB, "int", "Largest file a disk action may write, in MiB.", "256"),
        Setting(
            HERON_LOADGEN_MAX_DISK_WRITE_MB,
            "int",
            "Most a disk action writes in all its operations, in MiB; it stops there or at the longest duration.",
            "4096",
        ),
        Setting(
            HERON_LOADGEN_TRAFFIC_ALLOW,
            "list",
            "Origins (scheme://host:port) traffic may target besides loadgen itself.",
        ),
        Setting(
            HERON_LOADGEN_SELF_URL,
            "url",
            "Base URL traffic uses to reach loadgen's own demo endpoints.",
            "http://<host>:<port>",
        ),
        Setting(
            HERON_LOADGEN_ALERTS_URL,
            "url",
            "Alert worker base URL; scenarios check `GET <url>/api/alerts/active` to report which alerts fired.",
        ),
        Setting(HERON_LOADGEN_ALERTS_TOKEN, "secret", "Bearer token for the alert worker's API, when it requires one."),
        Setting(HERON_LOADGEN_GRAFANA_URL, "url", "Grafana URL linked from the control page.", "http://localhost:3000"),
        Setting(HERON_LOADGEN_THREADS, "int", "WSGI server worker threads (1 to 256).", "16"),
    ),
)
