"""Environment variables read by the Heron stack runner (`heron up`, test harness), and its registry.

Every port is configurable; defaults are the well-known ports of each part. `CONFIG_FILE_SETTINGS` lists
the variables read by the shipped config files (otel-collector.yaml, Grafana provisioning, compose).
"""

from __future__ import annotations

from heron_stack.settings import Registry, Setting

HERON_STATE_DIR = "HERON_STATE_DIR"
HERON_CACHE_DIR = "HERON_CACHE_DIR"
HERON_BIND_HOST = "HERON_BIND_HOST"
HERON_OTLP_TOKEN = "HERON_OTLP_TOKEN"
HERON_OTLP_TOKEN_FILE = "HERON_OTLP_TOKEN_FILE"
HERON_READY_TIMEOUT = "HERON_READY_TIMEOUT"
HERON_PROMETHEUS = "HERON_PROMETHEUS"
HERON_VICTORIALOGS_RETENTION = "HERON_VICTORIALOGS_RETENTION"
HERON_COLLECTOR_MEMORY_LIMIT_MIB = "HERON_COLLECTOR_MEMORY_LIMIT_MIB"
HERON_TOPOLOGY = "HERON_TOPOLOGY"
HERON_CLUSTER_BASE_PORT = "HERON_CLUSTER_BASE_PORT"
HERON_COLLECTOR_MEMORY_SPIKE_MIB = "HERON_COLLECTOR_MEMORY_SPIKE_MIB"

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

_PORT_MEANINGS = {
    "otlp_grpc": "Collector OTLP/gRPC port.",
    "otlp_http": "Collector OTLP/HTTP port.",
    "collector_health": "Collector health check port.",
    "collector_telemetry": "Collector's own metrics port (scraped by Prometheus).",
    "prometheus": "Prometheus port.",
    "victorialogs": "VictoriaLogs port (log store, LogsQL API and UI).",
    "redis": "Redis port.",
    "loadgen": "Load lab port (API + control page).",
    "alert_api": "Alert worker API port.",
    "grafana": "Grafana port (only with a local `grafana` binary).",
    "mail": "The local mail sink's SMTP port.",
}

SETTINGS = Registry(
    "heron_stack",
    "Stack runner (`heron`)",
    (
        Setting(
            HERON_STATE_DIR,
            "path",
            "Pid files, logs (`logs/<service>.log`), data of Prometheus, VictoriaLogs, Redis.",
            ".heron/ in the project directory",
        ),
        Setting(
            HERON_CACHE_DIR,
            "path",
            "Built collector and VictoriaLogs, keyed by version + build-input hash.",
            "$XDG_CACHE_HOME/heron or ~/.cache/heron",
        ),
        Setting(
            HERON_BIND_HOST,
            "host",
            "Address every local service listens on (an IP address or `localhost`); keep loopback unless you set a "
            "token.",
            "127.0.0.1",
        ),
        Setting(
            HERON_OTLP_TOKEN,
            "secret",
            "When set, the collector refuses OTLP data without `Authorization: Bearer <token>`.",
        ),
        Setting(
            HERON_OTLP_TOKEN_FILE,
            "path",
            "A file holding the OTLP bearer token (instead of HERON_OTLP_TOKEN, not both).",
        ),
        Setting(HERON_READY_TIMEOUT, "float", "Seconds each service may take to become ready (greater than 0).", "60"),
        Setting(
            HERON_PROMETHEUS,
            "enum",
            "Which Prometheus `heron up` runs: Debian's package (with the web UI) or v3 built from Prometheus' Go "
            "module at the version compose ships (API only; the tests run this one).",
            "debian",
            ("debian", "v3"),
        ),
        Setting(
            HERON_TOPOLOGY,
            "enum",
            "Which topology `heron up` runs: one process per part, or the cluster (2 collectors behind HAProxy, "
            "3 Thanos receivers + Query, clustered VictoriaLogs; docs/scaling.md). `heron up --topology` overrides.",
            "single",
            ("single", "cluster"),
        ),
        Setting(
            HERON_CLUSTER_BASE_PORT,
            "port",
            "First of the cluster topology's own ports (collectors, receivers, store, log nodes); they follow "
            "it one by one.",
            "19100",
        ),
        Setting(
            HERON_VICTORIALOGS_RETENTION,
            "duration",
            "How long VictoriaLogs keeps logs: a whole number and `h`, `d`, `w` or `y`, at least one day.",
            "7d",
        ),
        Setting(
            HERON_COLLECTOR_MEMORY_LIMIT_MIB,
            "int",
            "The collector's memory_limiter limit in MiB (at least 1); GOMEMLIMIT is 80 % of limit - spike.",
            "400",
        ),
        Setting(
            HERON_COLLECTOR_MEMORY_SPIKE_MIB,
            "int",
            "The collector's memory_limiter spike limit in MiB, below HERON_COLLECTOR_MEMORY_LIMIT_MIB.",
            "100",
        ),
        *(Setting(var, "port", _PORT_MEANINGS[name], str(port)) for name, (var, port) in PORT_VARIABLES.items()),
    ),
)

CONFIG_FILE_SETTINGS = Registry(
    "config_files",
    "Collector, Grafana and compose files (`heron up` sets them for the services it starts)",
    (
        Setting("HERON_OTLP_GRPC_ENDPOINT", "str", "Collector OTLP/gRPC listen address (host:port).", "0.0.0.0:4317"),
        Setting("HERON_OTLP_HTTP_ENDPOINT", "str", "Collector OTLP/HTTP listen address (host:port).", "0.0.0.0:4318"),
        Setting(
            "HERON_COLLECTOR_HEALTH_ENDPOINT",
            "str",
            "Collector health check listen address (host:port).",
            "0.0.0.0:13133",
        ),
        Setting(
            "HERON_COLLECTOR_TELEMETRY_HOST",
            "host",
            "Address of the collector's own metrics endpoint.",
            "0.0.0.0",  # noqa: S104 - a documented default, not a bind
        ),
        Setting(
            "HERON_COLLECTOR_INSTANCE",
            "str",
            "A cluster collector's name: the `instance` label of the own metrics it pushes to Thanos.",
            "otel-collector",
        ),
        Setting("HERON_COLLECTOR_BATCH_TIMEOUT", "duration", "The collector's batch processor timeout.", "200ms"),
        Setting(
            "HERON_COLLECTOR_LOG_LEVEL",
            "enum",
            "Level of the collector's own logs.",
            "info",
            ("debug", "info", "warn", "error"),
        ),
        Setting(
            "HERON_PROMETHEUS_REMOTE_WRITE_URL",
            "url",
            "Where the collector remote-writes metrics (Prometheus, Thanos Receive, VictoriaMetrics).",
            "http://prometheus:9090/api/v1/write",
        ),
        Setting(
            "HERON_VICTORIALOGS_OTLP_ENDPOINT",
            "url",
            "Where the collector sends logs (VictoriaLogs' OTLP insert endpoint).",
            "http://victorialogs:9428/insert/opentelemetry/v1/logs",
        ),
        Setting("HERON_PROMETHEUS_URL", "url", "Prometheus URL of Grafana's provisioned datasource."),
        Setting("HERON_VICTORIALOGS_URL", "url", "VictoriaLogs URL of Grafana's provisioned datasource."),
        Setting("HERON_GRAFANA_DASHBOARDS_DIR", "path", "Directory Grafana provisions the Heron dashboards from."),
        Setting("HERON_GRAFANA_ADMIN_PASSWORD", "secret", "Grafana's admin password in compose (required there)."),
        Setting("HERON_GRAFANA_ANONYMOUS", "bool", "Compose: let viewers into Grafana without logging in.", "false"),
        Setting("HERON_LOKI_PORT", "port", "Host port of Loki in deploy/loki/compose.loki.yml.", "3100"),
        Setting(
            "HERON_LOKI_OTLP_ENDPOINT",
            "url",
            "Where deploy/loki's collector overlay sends logs (Loki's OTLP endpoint).",
            "http://loki:3100/otlp",
        ),
    ),
)
