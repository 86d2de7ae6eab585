"""Environment variables read by the alert engine (standard OTEL_* first, Heron's own after).

The OpenTelemetry SDK reads the OTEL_* variables itself for the engine's self-metrics.
"""

OTEL_EXPORTER_OTLP_ENDPOINT = "OTEL_EXPORTER_OTLP_ENDPOINT"
"""Where self-metrics go (OTLP/HTTP); unset means self-metrics are not exported."""

OTEL_SERVICE_NAME = "OTEL_SERVICE_NAME"
"""Service name of the self-metrics (default `heron-alert-worker`)."""

HERON_ALERTS_CONFIG = "HERON_ALERTS_CONFIG"
"""Path of an optional YAML file with any of the settings below (lower priority than env vars)."""

HERON_ALERTS_PROMETHEUS_URL = "HERON_ALERTS_PROMETHEUS_URL"
"""Prometheus base URL the rules are evaluated against (default http://127.0.0.1:9090)."""

HERON_ALERTS_VICTORIALOGS_URL = "HERON_ALERTS_VICTORIALOGS_URL"
"""VictoriaLogs base URL that `type: vlogs` (LogsQL) rule groups are evaluated against and checked by
(default http://127.0.0.1:9428)."""

HERON_ALERTS_REDIS_URL = "HERON_ALERTS_REDIS_URL"
"""Redis URL for alert state (default redis://127.0.0.1:6379/0)."""

HERON_ALERTS_BROKER_URL = "HERON_ALERTS_BROKER_URL"
"""Celery broker URL (default: the Redis URL)."""

HERON_ALERTS_RULE_FILES = "HERON_ALERTS_RULE_FILES"
"""Comma-separated rule file paths or globs (default prometheus/rules/*.rules.yml and
prometheus/rules/logs/*.rules.yml, the LogsQL rules Prometheus does not load)."""

HERON_ALERTS_ROUTING_FILE = "HERON_ALERTS_ROUTING_FILE"
"""Routing file (default prometheus/rules/heron.routing.yaml when it exists)."""

HERON_ALERTS_EXTERNAL_LABELS = "HERON_ALERTS_EXTERNAL_LABELS"
"""`name=value,...` available to templates as $externalLabels."""

HERON_ALERTS_EVAL_QUEUE = "HERON_ALERTS_EVAL_QUEUE"
"""Celery queue of rule-group evaluations without an entry in the routing file's group_queues (default alerts)."""

HERON_ALERTS_NOTIFY_QUEUE = "HERON_ALERTS_NOTIFY_QUEUE"
"""Celery queue notification jobs are sent to (default notify)."""

HERON_ALERTS_FLAP_THRESHOLD = "HERON_ALERTS_FLAP_THRESHOLD"
"""An alert that flips more than this many times within the flap window is flapping (default 4)."""

HERON_ALERTS_FLAP_WINDOW = "HERON_ALERTS_FLAP_WINDOW"
"""Flap detection window as a Prometheus duration (default 30m)."""

HERON_ALERTS_QUERY_TIMEOUT = "HERON_ALERTS_QUERY_TIMEOUT"
"""Timeout of one Prometheus query (default 10s)."""

HERON_ALERTS_HISTORY_RETENTION = "HERON_ALERTS_HISTORY_RETENTION"
"""How long history entries are kept (default 30d)."""

HERON_ALERTS_VISIBILITY_TIMEOUT = "HERON_ALERTS_VISIBILITY_TIMEOUT"
"""How long the Redis broker waits for a task's acknowledgement before handing it to another worker:
the delay after which the task of a worker killed outright runs again (default 20s, at least 10s)."""

HERON_ALERTS_API_HOST = "HERON_ALERTS_API_HOST"
"""Address the API binds to (default 127.0.0.1; anything else requires a bearer token)."""

HERON_ALERTS_API_PORT = "HERON_ALERTS_API_PORT"
"""Port of the API (default 9097)."""

HERON_ALERTS_API_ALLOWED_HOSTS = "HERON_ALERTS_API_ALLOWED_HOSTS"
"""Extra names the API answers to in the Host header (comma-separated), besides loopback and its bind
address; any other Host gets 421 (DNS rebinding). Compose sets `alert-api` so the load lab can reach it."""

HERON_ALERTS_API_TOKEN = "HERON_ALERTS_API_TOKEN"  # noqa: S105 - the variable name, not a secret
"""Bearer token required by the API when it is not bound to loopback."""

HERON_ALERTS_API_TOKEN_FILE = "HERON_ALERTS_API_TOKEN_FILE"  # noqa: S105 - the variable name, not a secret
"""File holding the API bearer token (used when HERON_ALERTS_API_TOKEN is unset)."""
