"""Environment variables read by Heron's notification delivery (all of them, in one place).

Secrets may be given directly or as a path in the matching ``*_FILE`` variable
(Docker/Kubernetes secrets); the file wins when both are set.
"""

#: Path of the YAML destinations file.
HERON_ALERTS_DESTINATIONS_FILE = "HERON_ALERTS_DESTINATIONS_FILE"
#: Destination that receives "destination unhealthy" meta-notifications.
HERON_ALERTS_FALLBACK_DESTINATION = "HERON_ALERTS_FALLBACK_DESTINATION"
#: Grafana base URL used for dashboard links when an alert has no ``dashboard_url`` annotation.
HERON_ALERTS_GRAFANA_URL = "HERON_ALERTS_GRAFANA_URL"
#: Silence form URL; notifications link to it with the alert's labels as matchers.
HERON_ALERTS_SILENCE_URL = "HERON_ALERTS_SILENCE_URL"
#: ``externalURL`` of webhook payloads (the Heron alert API as users reach it).
HERON_ALERTS_EXTERNAL_URL = "HERON_ALERTS_EXTERNAL_URL"
#: Directory with template overrides (same file names as the built-in templates).
HERON_ALERTS_TEMPLATE_DIR = "HERON_ALERTS_TEMPLATE_DIR"

#: Quick setup without a file: a destination named ``telegram``.
HERON_ALERTS_TELEGRAM_BOT_TOKEN = "HERON_ALERTS_TELEGRAM_BOT_TOKEN"  # noqa: S105 - a variable name, not a secret
HERON_ALERTS_TELEGRAM_BOT_TOKEN_FILE = "HERON_ALERTS_TELEGRAM_BOT_TOKEN_FILE"  # noqa: S105 - a variable name
HERON_ALERTS_TELEGRAM_CHAT_ID = "HERON_ALERTS_TELEGRAM_CHAT_ID"
#: Quick setup: a destination named ``slack``.
HERON_ALERTS_SLACK_WEBHOOK_URL = "HERON_ALERTS_SLACK_WEBHOOK_URL"
HERON_ALERTS_SLACK_WEBHOOK_URL_FILE = "HERON_ALERTS_SLACK_WEBHOOK_URL_FILE"
#: Quick setup: a destination named ``discord``.
HERON_ALERTS_DISCORD_WEBHOOK_URL = "HERON_ALERTS_DISCORD_WEBHOOK_URL"
HERON_ALERTS_DISCORD_WEBHOOK_URL_FILE = "HERON_ALERTS_DISCORD_WEBHOOK_URL_FILE"

#: Quick setup: a destination named ``email`` (host, from and to are required together).
HERON_ALERTS_SMTP_HOST = "HERON_ALERTS_SMTP_HOST"
HERON_ALERTS_SMTP_PORT = "HERON_ALERTS_SMTP_PORT"
#: ``none``, ``starttls`` (default) or ``tls`` (implicit TLS, usually port 465).
HERON_ALERTS_SMTP_SECURITY = "HERON_ALERTS_SMTP_SECURITY"
HERON_ALERTS_SMTP_USERNAME = "HERON_ALERTS_SMTP_USERNAME"
HERON_ALERTS_SMTP_PASSWORD = "HERON_ALERTS_SMTP_PASSWORD"  # noqa: S105 - a variable name, not a secret
HERON_ALERTS_SMTP_PASSWORD_FILE = "HERON_ALERTS_SMTP_PASSWORD_FILE"  # noqa: S105 - a variable name
HERON_ALERTS_SMTP_FROM = "HERON_ALERTS_SMTP_FROM"
#: Comma-separated recipients.
HERON_ALERTS_SMTP_TO = "HERON_ALERTS_SMTP_TO"

#: Give up on a notification this many seconds after it was created (then dead-letter it).
HERON_ALERTS_DELIVERY_MAX_AGE = "HERON_ALERTS_DELIVERY_MAX_AGE"
#: How long one worker owns a send before another may take it over (must exceed the channel timeout).
HERON_ALERTS_DELIVERY_LEASE = "HERON_ALERTS_DELIVERY_LEASE"
