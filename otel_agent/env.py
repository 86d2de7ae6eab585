"""Environment variables the agent reads: standard OpenTelemetry ones first, then Heron's own."""

from __future__ import annotations

from heron_stack.settings import Registry, Setting

# Standard OpenTelemetry variables (https://opentelemetry.io/docs/specs/otel/protocol/exporter/).
OTEL_EXPORTER_OTLP_ENDPOINT = "OTEL_EXPORTER_OTLP_ENDPOINT"
"""Base URL of the collector; HTTP appends /v1/metrics and /v1/logs."""
OTEL_EXPORTER_OTLP_METRICS_ENDPOINT = "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"
"""Full metrics URL, used as is; wins over the base URL."""
OTEL_EXPORTER_OTLP_PROTOCOL = "OTEL_EXPORTER_OTLP_PROTOCOL"
"""`http/protobuf` (default) or `grpc`."""
OTEL_EXPORTER_OTLP_METRICS_PROTOCOL = "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL"
"""Protocol for metrics only; wins over OTEL_EXPORTER_OTLP_PROTOCOL."""
OTEL_EXPORTER_OTLP_HEADERS = "OTEL_EXPORTER_OTLP_HEADERS"
"""`key=value,key2=value2` headers sent with every export (never logged)."""
OTEL_EXPORTER_OTLP_METRICS_HEADERS = "OTEL_EXPORTER_OTLP_METRICS_HEADERS"
"""Headers for metrics only; wins over OTEL_EXPORTER_OTLP_HEADERS."""
OTEL_EXPORTER_OTLP_CERTIFICATE = "OTEL_EXPORTER_OTLP_CERTIFICATE"
"""CA bundle (PEM) that verifies the collector's TLS certificate (default: the system's trust store)."""
OTEL_EXPORTER_OTLP_METRICS_CERTIFICATE = "OTEL_EXPORTER_OTLP_METRICS_CERTIFICATE"
"""CA bundle for metrics only; wins over OTEL_EXPORTER_OTLP_CERTIFICATE."""
OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE = "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE"
"""Client certificate (PEM) for mutual TLS."""
OTEL_EXPORTER_OTLP_METRICS_CLIENT_CERTIFICATE = "OTEL_EXPORTER_OTLP_METRICS_CLIENT_CERTIFICATE"
"""Client certificate for metrics only; wins over OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE."""
OTEL_EXPORTER_OTLP_CLIENT_KEY = "OTEL_EXPORTER_OTLP_CLIENT_KEY"
"""Private key (PEM) of the client certificate."""
OTEL_EXPORTER_OTLP_METRICS_CLIENT_KEY = "OTEL_EXPORTER_OTLP_METRICS_CLIENT_KEY"
"""Client key for metrics only; wins over OTEL_EXPORTER_OTLP_CLIENT_KEY."""
OTEL_EXPORTER_OTLP_TIMEOUT = "OTEL_EXPORTER_OTLP_TIMEOUT"
"""Export timeout in milliseconds (default 10000)."""
OTEL_EXPORTER_OTLP_COMPRESSION = "OTEL_EXPORTER_OTLP_COMPRESSION"
"""`gzip` (default) or `none`."""
OTEL_SERVICE_NAME = "OTEL_SERVICE_NAME"
"""service.name resource attribute (default `otel-agent`)."""
OTEL_RESOURCE_ATTRIBUTES = "OTEL_RESOURCE_ATTRIBUTES"
"""Extra resource attributes, `key=value,key2=value2`; detected host attributes win."""
OTEL_METRIC_EXPORT_INTERVAL = "OTEL_METRIC_EXPORT_INTERVAL"
"""Collection interval in milliseconds; HERON_AGENT_INTERVAL (seconds) wins over it."""
OTEL_LOGS_EXPORTER = "OTEL_LOGS_EXPORTER"
"""`otlp` (default) sends the agent's own logs to the collector; `none` keeps them on stderr only."""

# Heron's own variables.
HERON_AGENT_CONFIG = "HERON_AGENT_CONFIG"
HERON_AGENT_INTERVAL = "HERON_AGENT_INTERVAL"
HERON_AGENT_ROOT = "HERON_AGENT_ROOT"
HERON_AGENT_SOURCE = "HERON_AGENT_SOURCE"
HERON_AGENT_NAMING = "HERON_AGENT_NAMING"
HERON_AGENT_BUFFER_MAX_CYCLES = "HERON_AGENT_BUFFER_MAX_CYCLES"
HERON_AGENT_BUFFER_MAX_MIB = "HERON_AGENT_BUFFER_MAX_MIB"
HERON_AGENT_SPILL_DIR = "HERON_AGENT_SPILL_DIR"
HERON_AGENT_PROCESSES_TOP_N = "HERON_AGENT_PROCESSES_TOP_N"
HERON_AGENT_LOG_LEVEL = "HERON_AGENT_LOG_LEVEL"

SETTINGS = Registry(
    "otel_agent",
    "Host agent (`otel-agent`)",
    (
        Setting(HERON_AGENT_CONFIG, "path", "Path of the YAML config file (lower priority than the environment)."),
        Setting(
            HERON_AGENT_INTERVAL,
            "float",
            "Collection interval in seconds, 1 to 3600; wins over OTEL_METRIC_EXPORT_INTERVAL (milliseconds).",
            "10",
        ),
        Setting(HERON_AGENT_ROOT, "path", "Host root to read /proc and /sys under (`/hostfs` in the container).", "/"),
        Setting(HERON_AGENT_SOURCE, "enum", "Where host metrics are read from.", "auto", ("auto", "procfs", "psutil")),
        Setting(
            HERON_AGENT_NAMING,
            "enum",
            "Metric names: OpenTelemetry semantic conventions or the collector's hostmetrics receiver.",
            "semconv",
            ("semconv", "hostmetrics"),
        ),
        Setting(
            HERON_AGENT_BUFFER_MAX_CYCLES,
            "int",
            "Cycles kept while the collector is unreachable, 1 to 1000000 (2160 is 6 h at 10 s).",
            "2160",
        ),
        Setting(HERON_AGENT_BUFFER_MAX_MIB, "float", "Memory the buffer may hold, in MiB (up to 4096).", "8"),
        Setting(
            HERON_AGENT_SPILL_DIR,
            "path",
            "Directory to spill buffered cycles to when the memory bound is reached (unset: no spill).",
        ),
        Setting(HERON_AGENT_PROCESSES_TOP_N, "int", "Report the N busiest processes, 0 to 100 (0: off).", "0"),
        Setting(
            HERON_AGENT_LOG_LEVEL,
            "enum",
            "Level of the agent's own logs (case-insensitive).",
            "INFO",
            ("DEBUG", "INFO", "WARNING", "ERROR"),
        ),
    ),
)
