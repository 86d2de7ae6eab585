"""Environment variables read by loadgen: standard OpenTelemetry names first, then `HERON_LOADGEN_*`."""

from __future__ import annotations

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
"""Bind address (default 127.0.0.1). A non-loopback address requires a token."""

HERON_LOADGEN_PORT = "HERON_LOADGEN_PORT"
"""Bind port (default 8080)."""

HERON_LOADGEN_ALLOWED_HOSTS = "HERON_LOADGEN_ALLOWED_HOSTS"
"""Extra names the load lab answers to in the Host header (comma-separated), besides loopback and its bind
address; a request naming any other host gets 421 (DNS rebinding). E.g. `loadgen,lab.example.com`."""

HERON_LOADGEN_TOKEN = "HERON_LOADGEN_TOKEN"  # noqa: S105 - a variable name, not a secret
"""Bearer token required on `/api/*` (except health). Never logged."""

HERON_LOADGEN_TOKEN_FILE = "HERON_LOADGEN_TOKEN_FILE"  # noqa: S105 - a variable name, not a secret
"""File holding the token (first line); used when HERON_LOADGEN_TOKEN is unset."""

HERON_LOADGEN_DISK_DIR = "HERON_LOADGEN_DISK_DIR"
"""Directory for disk I/O temp files (default: the system temp directory)."""

HERON_LOADGEN_MAX_DURATION_SECONDS = "HERON_LOADGEN_MAX_DURATION_SECONDS"
"""Longest single action in seconds (default 600)."""

HERON_LOADGEN_MAX_MEMORY_SHARE = "HERON_LOADGEN_MAX_MEMORY_SHARE"
"""Largest share of available memory all memory actions together may hold (default 0.5)."""

HERON_LOADGEN_MAX_RATE = "HERON_LOADGEN_MAX_RATE"
"""Largest total traffic rate in requests/s across traffic actions (default 2000)."""

HERON_LOADGEN_MAX_CONCURRENT_ACTIONS = "HERON_LOADGEN_MAX_CONCURRENT_ACTIONS"
"""Most actions running at once (default 8)."""

HERON_LOADGEN_MAX_TRAFFIC_CONCURRENCY = "HERON_LOADGEN_MAX_TRAFFIC_CONCURRENCY"
"""Most in-flight requests per traffic action (default 64)."""

HERON_LOADGEN_MAX_DISK_MB = "HERON_LOADGEN_MAX_DISK_MB"
"""Largest file a disk action may write, in MiB (default 256)."""

HERON_LOADGEN_MAX_DISK_WRITE_MB = "HERON_LOADGEN_MAX_DISK_WRITE_MB"
"""Most a disk action writes in all its operations, in MiB (default 4096); it stops there, or at
HERON_LOADGEN_MAX_DURATION_SECONDS, whichever comes first."""

HERON_LOADGEN_TRAFFIC_ALLOW = "HERON_LOADGEN_TRAFFIC_ALLOW"
"""Comma-separated origins (scheme://host:port) traffic may target besides loadgen itself."""

HERON_LOADGEN_SELF_URL = "HERON_LOADGEN_SELF_URL"
"""Base URL traffic uses to reach loadgen's own demo endpoints (default http://<host>:<port>)."""

HERON_LOADGEN_ALERTS_URL = "HERON_LOADGEN_ALERTS_URL"
"""Alert worker base URL; scenarios check `GET <url>/api/alerts/active` to report which alerts fired."""

HERON_LOADGEN_ALERTS_TOKEN = "HERON_LOADGEN_ALERTS_TOKEN"  # noqa: S105 - a variable name, not a secret
"""Bearer token for the alert worker's API, when it requires one. Never logged."""

HERON_LOADGEN_GRAFANA_URL = "HERON_LOADGEN_GRAFANA_URL"
"""Grafana URL linked from the control page (default http://localhost:3000)."""

HERON_LOADGEN_THREADS = "HERON_LOADGEN_THREADS"
"""WSGI server worker threads (default 16)."""

HERON_HEALTH_ROUTES = "HERON_HEALTH_ROUTES"
"""Heron SDK: comma-separated paths kept out of spans and metrics; loadgen's default is `/api/health`."""
