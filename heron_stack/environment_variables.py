"""Environment variables read by the Heron stack runner (`heron up`, test harness).

Every port is configurable; defaults are the well-known ports of each part.
"""

from __future__ import annotations

HERON_STATE_DIR = "HERON_STATE_DIR"
"""Where `heron up` keeps pid files, logs and data. Default: `.heron/` in the project directory."""

HERON_CACHE_DIR = "HERON_CACHE_DIR"
"""Where built components (collector, VictoriaLogs) are cached. Default: `$XDG_CACHE_HOME/heron` or `~/.cache/heron`."""

HERON_BIND_HOST = "HERON_BIND_HOST"
"""Address every local service listens on. Default `127.0.0.1` (loopback only)."""

HERON_OTLP_TOKEN = "HERON_OTLP_TOKEN"
"""When set, the collector refuses OTLP data without `Authorization: Bearer <token>`."""

HERON_OTLP_TOKEN_FILE = "HERON_OTLP_TOKEN_FILE"
"""A file holding the OTLP bearer token (alternative to HERON_OTLP_TOKEN)."""

HERON_READY_TIMEOUT = "HERON_READY_TIMEOUT"
"""Seconds each service may take to become ready. Default 60."""

HERON_PROMETHEUS = "HERON_PROMETHEUS"
"""Which Prometheus `heron up` runs: `debian` (default; Debian's package, with the web UI) or `v3` (built
from Prometheus' Go module at the version compose ships; API only, no UI; the tests run this one)."""

HERON_VICTORIALOGS_RETENTION = "HERON_VICTORIALOGS_RETENTION"
"""How long VictoriaLogs keeps logs: a number and a unit (h, d, w, y), e.g. `7d`, `12w`. Default `7d`."""

PORT_VARIABLES: dict[str, tuple[str, int]] = {
    "otlp_grpc": ("HERON_OTLP_GRPC_PORT", 4317),
    "otlp_http": ("HERON_OTLP_HTTP_PORT", 4318),
    "collector_health": ("HERON_COLLECTOR_HEALTH_PORT", 13133),
    "collector_telemetry": ("HERON_COLLECTOR_TELEMETRY_PORT", 8888),
    "prometheus": ("HERON_PROMETHEUS_PORT", 9090),
    "victorialogs": ("HERON_VICTORIALOGS_PORT", 9428),
    "redis": ("HERON_REDIS_PORT", 6379),
    "loadgen": ("HERON_LOADGEN_PORT", 8080),
    "alert_api": ("HERON_ALERTS_API_PORT", 9097),
    "grafana": ("HERON_GRAFANA_PORT", 3000),
    "mail": ("HERON_MAIL_PORT", 1025),
}
"""Logical port name -> (environment variable, default port)."""
