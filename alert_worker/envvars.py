"""Environment variables read by the alert engine (standard OTEL_* first, Heron's own after), and its registries.

The OpenTelemetry SDK reads the OTEL_* variables itself for the engine's self-metrics. `SETTINGS` describes
the engine's `HERON_ALERTS_*` variables, `DELIVERY_SETTINGS` those of notification delivery (whose names
``alert_worker.channels.env`` re-exports).
"""

from __future__ import annotations

from heron_stack.settings import Registry, Setting

OTEL_EXPORTER_OTLP_ENDPOINT = "OTEL_EXPORTER_OTLP_ENDPOINT"
"""Where self-metrics go (OTLP/HTTP); unset means self-metrics are not exported."""

OTEL_SERVICE_NAME = "OTEL_SERVICE_NAME"
"""Service name of the self-metrics (default `heron-alert-worker`)."""

HERON_ALERTS_CONFIG = "HERON_ALERTS_CONFIG"
HERON_ALERTS_PROMETHEUS_URL = "HERON_ALERTS_PROMETHEUS_URL"
HERON_ALERTS_VICTORIALOGS_URL = "HERON_ALERTS_VICTORIALOGS_URL"
HERON_ALERTS_REDIS_URL = "HERON_ALERTS_REDIS_URL"
HERON_ALERTS_BROKER_URL = "HERON_ALERTS_BROKER_URL"
HERON_ALERTS_RULE_FILES = "HERON_ALERTS_RULE_FILES"
HERON_ALERTS_ROUTING_FILE = "HERON_ALERTS_ROUTING_FILE"
HERON_ALERTS_EXTERNAL_LABELS = "HERON_ALERTS_EXTERNAL_LABELS"
HERON_ALERTS_EVAL_QUEUE = "HERON_ALERTS_EVAL_QUEUE"
HERON_ALERTS_NOTIFY_QUEUE = "HERON_ALERTS_NOTIFY_QUEUE"
HERON_ALERTS_FLAP_THRESHOLD = "HERON_ALERTS_FLAP_THRESHOLD"
HERON_ALERTS_FLAP_WINDOW = "HERON_ALERTS_FLAP_WINDOW"
HERON_ALERTS_QUERY_TIMEOUT = "HERON_ALERTS_QUERY_TIMEOUT"
HERON_ALERTS_QUERY_CONCURRENCY = "HERON_ALERTS_QUERY_CONCURRENCY"
HERON_ALERTS_HISTORY_RETENTION = "HERON_ALERTS_HISTORY_RETENTION"
HERON_ALERTS_VISIBILITY_TIMEOUT = "HERON_ALERTS_VISIBILITY_TIMEOUT"
HERON_ALERTS_REDIS_WAIT_REPLICAS = "HERON_ALERTS_REDIS_WAIT_REPLICAS"
HERON_ALERTS_REDIS_WAIT_TIMEOUT = "HERON_ALERTS_REDIS_WAIT_TIMEOUT"
HERON_ALERTS_SHARD_TTL = "HERON_ALERTS_SHARD_TTL"
HERON_ALERTS_BEAT_LOCK_TIMEOUT = "HERON_ALERTS_BEAT_LOCK_TIMEOUT"
HERON_ALERTS_API_HOST = "HERON_ALERTS_API_HOST"
HERON_ALERTS_API_PORT = "HERON_ALERTS_API_PORT"
HERON_ALERTS_API_ALLOWED_HOSTS = "HERON_ALERTS_API_ALLOWED_HOSTS"
HERON_ALERTS_API_TOKEN = "HERON_ALERTS_API_TOKEN"  # noqa: S105 - the variable name, not a secret
HERON_ALERTS_API_TOKEN_FILE = "HERON_ALERTS_API_TOKEN_FILE"  # noqa: S105 - the variable name, not a secret

# Notification delivery (alert_worker.channels, alert_worker.delivery).
HERON_ALERTS_DESTINATIONS_FILE = "HERON_ALERTS_DESTINATIONS_FILE"
HERON_ALERTS_FALLBACK_DESTINATION = "HERON_ALERTS_FALLBACK_DESTINATION"
HERON_ALERTS_GRAFANA_URL = "HERON_ALERTS_GRAFANA_URL"
HERON_ALERTS_SILENCE_URL = "HERON_ALERTS_SILENCE_URL"
HERON_ALERTS_EXTERNAL_URL = "HERON_ALERTS_EXTERNAL_URL"
HERON_ALERTS_TEMPLATE_DIR = "HERON_ALERTS_TEMPLATE_DIR"
HERON_ALERTS_TELEGRAM_BOT_TOKEN = "HERON_ALERTS_TELEGRAM_BOT_TOKEN"  # noqa: S105 - a variable name, not a secret
HERON_ALERTS_TELEGRAM_BOT_TOKEN_FILE = "HERON_ALERTS_TELEGRAM_BOT_TOKEN_FILE"  # noqa: S105 - a variable name
HERON_ALERTS_TELEGRAM_CHAT_ID = "HERON_ALERTS_TELEGRAM_CHAT_ID"
HERON_ALERTS_SLACK_WEBHOOK_URL = "HERON_ALERTS_SLACK_WEBHOOK_URL"
HERON_ALERTS_SLACK_WEBHOOK_URL_FILE = "HERON_ALERTS_SLACK_WEBHOOK_URL_FILE"
HERON_ALERTS_DISCORD_WEBHOOK_URL = "HERON_ALERTS_DISCORD_WEBHOOK_URL"
HERON_ALERTS_DISCORD_WEBHOOK_URL_FILE = "HERON_ALERTS_DISCORD_WEBHOOK_URL_FILE"
HERON_ALERTS_SMTP_HOST = "HERON_ALERTS_SMTP_HOST"
HERON_ALERTS_SMTP_PORT = "HERON_ALERTS_SMTP_PORT"
HERON_ALERTS_SMTP_SECURITY = "HERON_ALERTS_SMTP_SECURITY"
HERON_ALERTS_SMTP_USERNAME = "HERON_ALERTS_SMTP_USERNAME"
HERON_ALERTS_SMTP_PASSWORD = "HERON_ALERTS_SMTP_PASSWORD"  # noqa: S105 - a variable name, not a secret
HERON_ALERTS_SMTP_PASSWORD_FILE = "HERON_ALERTS_SMTP_PASSWORD_FILE"  # noqa: S105 - a variable name
HERON_ALERTS_SMTP_FROM = "HERON_ALERTS_SMTP_FROM"
HERON_ALERTS_SMTP_TO = "HERON_ALERTS_SMTP_TO"
HERON_ALERTS_DELIVERY_MAX_AGE = "HERON_ALERTS_DELIVERY_MAX_AGE"
HERON_ALERTS_DELIVERY_LEASE = "HERON_ALERTS_DELIVERY_LEASE"

SETTINGS = Registry(
    "alert_worker",
    "Alert worker (`alert-worker`): rule evaluation and API",
    (
        Setting(
            HERON_ALERTS_CONFIG,
            "path",
            "Optional YAML file with any of the settings below, by field name (lower priority than the environment).",
        ),
        Setting(
            HERON_ALERTS_PROMETHEUS_URL,
            "url",
            "Prometheus base URL the rules are evaluated against.",
            "http://127.0.0.1:9090",
        ),
        Setting(
            HERON_ALERTS_VICTORIALOGS_URL,
            "url",
            "VictoriaLogs base URL that `type: vlogs` (LogsQL) rule groups are evaluated against and checked by.",
            "http://127.0.0.1:9428",
        ),
        Setting(
            HERON_ALERTS_REDIS_URL,
            "url",
            "Redis of alert state, delivery state and the beat lock: redis://host:port/db, or under Redis Sentinel "
            "redis+sentinel://host:26379,host:26379/master_name/db (see docs/sentinel.md).",
            "redis://127.0.0.1:6379/0",
        ),
        Setting(
            HERON_ALERTS_BROKER_URL,
            "url",
            "Celery broker URL, in the same forms as HERON_ALERTS_REDIS_URL (unset: the Redis URL).",
        ),
        Setting(
            HERON_ALERTS_REDIS_WAIT_REPLICAS,
            "int",
            "Replicas that must acknowledge an alert state, outbox or sent-mark write before it counts "
            "(Redis WAIT; 0 to 16; unset: 1 under Sentinel, 0 otherwise).",
        ),
        Setting(
            HERON_ALERTS_REDIS_WAIT_TIMEOUT,
            "duration",
            "How long such a write waits for its replicas; on a shortfall it stands and a warning is logged.",
            "1s",
        ),
        Setting(
            HERON_ALERTS_RULE_FILES,
            "list",
            "Rule file paths or globs; the default adds the LogsQL rules Prometheus does not load.",
            "prometheus/rules/*.rules.yml,prometheus/rules/logs/*.rules.yml",
        ),
        Setting(
            HERON_ALERTS_ROUTING_FILE,
            "path",
            "Routing file (unset: prometheus/rules/heron.routing.yaml when it exists; a set file must exist).",
        ),
        Setting(HERON_ALERTS_EXTERNAL_LABELS, "pairs", "Labels available to templates as $externalLabels."),
        Setting(
            HERON_ALERTS_EVAL_QUEUE,
            "str",
            "Celery queue of rule-group evaluations without an entry in the routing file's group_queues.",
            "alerts",
        ),
        Setting(HERON_ALERTS_NOTIFY_QUEUE, "str", "Celery queue notification jobs are sent to.", "notify"),
        Setting(
            HERON_ALERTS_FLAP_THRESHOLD,
            "int",
            "An alert that flips more than this many times within the flap window is flapping (positive).",
            "4",
        ),
        Setting(HERON_ALERTS_FLAP_WINDOW, "duration", "Flap detection window (a Prometheus duration).", "30m"),
        Setting(HERON_ALERTS_QUERY_TIMEOUT, "duration", "Timeout of one Prometheus or VictoriaLogs query.", "10s"),
        Setting(
            HERON_ALERTS_QUERY_CONCURRENCY,
            "int",
            "Queries of one rule group in flight at once, over kept-alive connections (1 to 64; 1: one at a time).",
            "4",
        ),
        Setting(HERON_ALERTS_HISTORY_RETENTION, "duration", "How long history entries are kept.", "30d"),
        Setting(
            HERON_ALERTS_VISIBILITY_TIMEOUT,
            "duration",
            "How long the broker waits for a task's acknowledgement before another worker runs it (at least 10s).",
            "20s",
        ),
        Setting(
            HERON_ALERTS_SHARD_TTL,
            "duration",
            "A sharded worker (`--shards N --shard I`) silent this long has left; its groups move to the live "
            "shards (at least 2s).",
            "10s",
        ),
        Setting(
            HERON_ALERTS_BEAT_LOCK_TIMEOUT,
            "duration",
            "A standby beat takes over this long after the active beat stopped renewing its lock "
            "(whole seconds, at least 3s).",
            "30s",
        ),
        Setting(
            HERON_ALERTS_API_HOST,
            "host",
            "Address the API binds to; anything but loopback requires a bearer token.",
            "127.0.0.1",
        ),
        Setting(HERON_ALERTS_API_PORT, "port", "Port of the API.", "9097"),
        Setting(
            HERON_ALERTS_API_ALLOWED_HOSTS,
            "list",
            "Extra names the API answers to in the Host header besides loopback and its bind address (others: 421).",
        ),
        Setting(HERON_ALERTS_API_TOKEN, "secret", "Bearer token required by the API when it is not bound to loopback."),
        Setting(
            HERON_ALERTS_API_TOKEN_FILE,
            "path",
            "File holding the API bearer token (when HERON_ALERTS_API_TOKEN is unset).",
        ),
    ),
)

DELIVERY_SETTINGS = Registry(
    "alert_delivery",
    "Alert worker: notification delivery (secrets may be given as a path in the matching `*_FILE` variable, "
    "which wins)",
    (
        Setting(HERON_ALERTS_DESTINATIONS_FILE, "path", "Path of the YAML destinations file."),
        Setting(
            HERON_ALERTS_FALLBACK_DESTINATION, "str", 'Destination that receives "destination unhealthy" notifications.'
        ),
        Setting(
            HERON_ALERTS_GRAFANA_URL,
            "url",
            "Grafana base URL for dashboard links when an alert has no `dashboard_url` annotation.",
        ),
        Setting(HERON_ALERTS_SILENCE_URL, "url", "Silence form URL; notifications link to it with the alert's labels."),
        Setting(
            HERON_ALERTS_EXTERNAL_URL, "url", "`externalURL` of webhook payloads (the alert API as users reach it)."
        ),
        Setting(
            HERON_ALERTS_TEMPLATE_DIR, "path", "Directory with template overrides (same names as the built-in ones)."
        ),
        Setting(HERON_ALERTS_TELEGRAM_BOT_TOKEN, "secret", "Quick setup: bot token of a destination named `telegram`."),
        Setting(HERON_ALERTS_TELEGRAM_BOT_TOKEN_FILE, "path", "File holding the Telegram bot token."),
        Setting(HERON_ALERTS_TELEGRAM_CHAT_ID, "str", "Chat of the `telegram` destination (set with the bot token)."),
        Setting(HERON_ALERTS_SLACK_WEBHOOK_URL, "secret", "Quick setup: webhook URL of a destination named `slack`."),
        Setting(HERON_ALERTS_SLACK_WEBHOOK_URL_FILE, "path", "File holding the Slack webhook URL."),
        Setting(
            HERON_ALERTS_DISCORD_WEBHOOK_URL, "secret", "Quick setup: webhook URL of a destination named `discord`."
        ),
        Setting(HERON_ALERTS_DISCORD_WEBHOOK_URL_FILE, "path", "File holding the Discord webhook URL."),
        Setting(
            HERON_ALERTS_SMTP_HOST,
            "host",
            "Quick setup: SMTP server of a destination named `email` (host, from and to are required together).",
        ),
        Setting(HERON_ALERTS_SMTP_PORT, "port", "SMTP port of the `email` destination.", "587"),
        Setting(
            HERON_ALERTS_SMTP_SECURITY,
            "enum",
            "TLS of the `email` destination: `tls` is implicit TLS (usually port 465).",
            "starttls",
            ("none", "starttls", "tls"),
        ),
        Setting(HERON_ALERTS_SMTP_USERNAME, "str", "SMTP login of the `email` destination."),
        Setting(HERON_ALERTS_SMTP_PASSWORD, "secret", "SMTP password of the `email` destination."),
        Setting(HERON_ALERTS_SMTP_PASSWORD_FILE, "path", "File holding the SMTP password."),
        Setting(HERON_ALERTS_SMTP_FROM, "str", "Sender address of the `email` destination."),
        Setting(HERON_ALERTS_SMTP_TO, "list", "Recipients of the `email` destination."),
        Setting(
            HERON_ALERTS_DELIVERY_MAX_AGE,
            "float",
            "Give up on a notification this many seconds after it was created, then dead-letter it (at least 1).",
            "21600",
        ),
        Setting(
            HERON_ALERTS_DELIVERY_LEASE,
            "float",
            "Seconds one worker owns a send before another may take it over; must exceed the channel timeout.",
            "25",
        ),
    ),
)
