"""Notification channels: Telegram, Slack, email, Discord, generic webhook and console."""

from alert_worker.channels.base import Channel, SendContext, SendResult
from alert_worker.channels.config import Destinations, resolve_destinations
from alert_worker.channels.console import ConsoleChannel
from alert_worker.channels.discord import DiscordChannel
from alert_worker.channels.exceptions import ChannelError, DestinationConfigError, PermanentError, TransientError
from alert_worker.channels.preview import preview_destination, sample_job, send_test
from alert_worker.channels.redact import RedactingFilter, install_log_redaction, redact
from alert_worker.channels.registry import build_channel, build_channels
from alert_worker.channels.render import Links, Rendered, preview, render
from alert_worker.channels.slack import SlackChannel
from alert_worker.channels.smtp import EmailChannel
from alert_worker.channels.telegram import TelegramChannel
from alert_worker.channels.webhook import WebhookChannel, alertmanager_payload

__all__ = [
    "Channel",
    "ChannelError",
    "ConsoleChannel",
    "DestinationConfigError",
    "Destinations",
    "DiscordChannel",
    "EmailChannel",
    "Links",
    "PermanentError",
    "RedactingFilter",
    "Rendered",
    "SendContext",
    "SendResult",
    "SlackChannel",
    "TelegramChannel",
    "TransientError",
    "WebhookChannel",
    "alertmanager_payload",
    "build_channel",
    "build_channels",
    "install_log_redaction",
    "preview",
    "preview_destination",
    "redact",
    "render",
    "resolve_destinations",
    "sample_job",
    "send_test",
]
