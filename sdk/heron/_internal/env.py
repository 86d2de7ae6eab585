"""Every environment variable the Heron SDK reads: standard OTEL_* first, HERON_* after (with their registry)."""

from heron._internal.settings import Registry, Setting

# Standard OpenTelemetry variables. The OTLP exporters also read their own OTEL_EXPORTER_OTLP_*
# variables (per-signal endpoints, headers, certificates, compression) when no argument overrides them.
OTEL_SDK_DISABLED = "OTEL_SDK_DISABLED"
OTEL_SERVICE_NAME = "OTEL_SERVICE_NAME"
OTEL_RESOURCE_ATTRIBUTES = "OTEL_RESOURCE_ATTRIBUTES"
OTEL_EXPORTER_OTLP_ENDPOINT = "OTEL_EXPORTER_OTLP_ENDPOINT"
OTEL_EXPORTER_OTLP_PROTOCOL = "OTEL_EXPORTER_OTLP_PROTOCOL"
OTEL_EXPORTER_OTLP_TIMEOUT = "OTEL_EXPORTER_OTLP_TIMEOUT"
OTEL_METRIC_EXPORT_INTERVAL = "OTEL_METRIC_EXPORT_INTERVAL"
OTEL_BSP_SCHEDULE_DELAY = "OTEL_BSP_SCHEDULE_DELAY"
OTEL_BSP_MAX_QUEUE_SIZE = "OTEL_BSP_MAX_QUEUE_SIZE"
OTEL_BSP_MAX_EXPORT_BATCH_SIZE = "OTEL_BSP_MAX_EXPORT_BATCH_SIZE"
OTEL_PYTHON_DISABLED_INSTRUMENTATIONS = "OTEL_PYTHON_DISABLED_INSTRUMENTATIONS"
OTEL_PROPAGATORS = "OTEL_PROPAGATORS"

# Heron's own variables.
HERON_ENVIRONMENT = "HERON_ENVIRONMENT"
HERON_SERVICE_VERSION = "HERON_SERVICE_VERSION"
HERON_INSTRUMENT_FLASK = "HERON_INSTRUMENT_FLASK"
HERON_INSTRUMENT_REQUESTS = "HERON_INSTRUMENT_REQUESTS"
HERON_INSTRUMENT_CELERY = "HERON_INSTRUMENT_CELERY"
HERON_INSTRUMENT_LOGGING = "HERON_INSTRUMENT_LOGGING"
HERON_LOG_LEVEL = "HERON_LOG_LEVEL"
HERON_HEALTH_ROUTES = "HERON_HEALTH_ROUTES"
HERON_SCRUB = "HERON_SCRUB"
HERON_SCRUB_PATTERNS = "HERON_SCRUB_PATTERNS"
HERON_CAPTURE_UNCAUGHT = "HERON_CAPTURE_UNCAUGHT"
HERON_SDK_RAISE_INTERNAL = "HERON_SDK_RAISE_INTERNAL"

_BOOL = "(true/false, 1/0, yes/no, on/off)"

SETTINGS = Registry(
    "sdk",
    "SDK (`heron.init`; an argument of `heron.init` wins over its variable)",
    (
        Setting(
            HERON_ENVIRONMENT,
            "str",
            "Deployment environment (production, staging, ...) when `environment=` is not given.",
        ),
        Setting(HERON_SERVICE_VERSION, "str", "service.version when `service_version=` is not given."),
        Setting(
            HERON_INSTRUMENT_FLASK,
            "bool",
            f"Instrument Flask {_BOOL}; unset: on unless in OTEL_PYTHON_DISABLED_INSTRUMENTATIONS.",
            "true",
        ),
        Setting(
            HERON_INSTRUMENT_REQUESTS,
            "bool",
            f"Instrument requests {_BOOL}; unset: on unless disabled by OTEL_PYTHON_DISABLED_INSTRUMENTATIONS.",
            "true",
        ),
        Setting(
            HERON_INSTRUMENT_CELERY,
            "bool",
            f"Instrument Celery {_BOOL}; unset: on unless disabled by OTEL_PYTHON_DISABLED_INSTRUMENTATIONS.",
            "true",
        ),
        Setting(
            HERON_INSTRUMENT_LOGGING,
            "bool",
            f"Export `logging` records {_BOOL}; unset: on unless disabled by OTEL_PYTHON_DISABLED_INSTRUMENTATIONS.",
            "true",
        ),
        Setting(
            HERON_LOG_LEVEL,
            "enum",
            "Lowest level of log records exported as OTLP logs (case-insensitive).",
            "INFO",
            ("DEBUG", "INFO", "WARNING", "WARN", "ERROR", "CRITICAL"),
        ),
        Setting(
            HERON_HEALTH_ROUTES,
            "list",
            "Paths kept out of spans and metrics (set but empty: none).",
            "/health,/healthz,/ready,/livez,/metrics",
        ),
        Setting(HERON_SCRUB, "bool", f"Scrub secrets from attributes and log bodies {_BOOL}.", "true"),
        Setting(HERON_SCRUB_PATTERNS, "list", "Extra regular expressions for attribute keys whose values are secrets."),
        Setting(
            HERON_CAPTURE_UNCAUGHT,
            "bool",
            f"Record uncaught exceptions of the main thread and of threads {_BOOL}.",
            "true",
        ),
        Setting(
            HERON_SDK_RAISE_INTERNAL,
            "bool",
            "Raise the SDK's own internal errors instead of logging them (the SDK's tests).",
            "false",
        ),
    ),
)

OWNED_PREFIXES = (
    "HERON_SDK_",
    "HERON_INSTRUMENT_",
    "HERON_SCRUB",
    "HERON_CAPTURE_",
    "HERON_SERVICE_",
    "HERON_HEALTH_",
    "HERON_LOG_",
    "HERON_ENVIRONMENT",
)
"""Prefixes of `HERON_*` names only the SDK uses. The SDK warns about an unknown name under them, or one
nearly equal to one of its names (`TYPO_CUTOFF`), and leaves the rest to Heron's other components, which
may share the environment and read names the SDK does not know."""

TYPO_CUTOFF = 0.9
"""difflib similarity from which an unknown `HERON_*` name is taken for a misspelt SDK name."""
