"""Build channel adapters from destination configuration."""

from __future__ import annotations

import ssl
from typing import TextIO

import httpx

from alert_worker.channels.base import Channel
from alert_worker.channels.config import (
    ConsoleDestination,
    Destination,
    Destinations,
    DiscordDestination,
    EmailDestination,
    SlackDestination,
    TelegramDestination,
    WebhookDestination,
)
from alert_worker.channels.console import ConsoleChannel
from alert_worker.channels.discord import DiscordChannel
from alert_worker.channels.slack import SlackChannel
from alert_worker.channels.smtp import EmailChannel
from alert_worker.channels.telegram import TelegramChannel
from alert_worker.channels.webhook import WebhookChannel


def build_channel(
    name: str,
    dest: Destination,
    config: Destinations,
    *,
    transport: httpx.BaseTransport | None = None,
    stream: TextIO | None = None,
) -> Channel:
    """The adapter for destination `name`; `transport` replaces httpx's network transport in tests."""
    links, tdir = config.links, config.template_dir
    if isinstance(dest, TelegramDestination):
        return TelegramChannel(
            dest.token.get_secret_value(),
            dest.chat_id,
            api_url=dest.api_url,
            edit_on_resolve=dest.edit_on_resolve,
            disable_notification=dest.disable_notification,
            max_parts=dest.max_parts,
            links=links,
            template_dir=tdir,
            timeout=dest.timeout_seconds,
            transport=transport,
        )
    if isinstance(dest, SlackDestination):
        url = dest.webhook_url.get_secret_value()
        return SlackChannel(url, links=links, template_dir=tdir, timeout=dest.timeout_seconds, transport=transport)
    if isinstance(dest, DiscordDestination):
        url = dest.webhook_url.get_secret_value()
        return DiscordChannel(url, links=links, template_dir=tdir, timeout=dest.timeout_seconds, transport=transport)
    if isinstance(dest, WebhookDestination):
        token = dest.bearer_token.get_secret_value() if dest.bearer_token else ""
        return WebhookChannel(
            dest.url.get_secret_value(),
            receiver=name,
            bearer_token=token,
            links=links,
            timeout=dest.timeout_seconds,
            transport=transport,
        )
    if isinstance(dest, EmailDestination):
        context = ssl.create_default_context(cafile=dest.ca_file or None)
        return EmailChannel(
            host=dest.host,
            port=dest.port,
            sender=dest.sender,
            recipients=dest.to,
            security=dest.security,
            username=dest.username,
            password=dest.password.get_secret_value() if dest.password else "",
            ssl_context=context,
            timeout=dest.timeout_seconds,
            links=links,
            template_dir=tdir,
        )
    if isinstance(dest, ConsoleDestination):
        return ConsoleChannel(stream, links=links, template_dir=tdir)
    raise TypeError(f"unsupported destination type {type(dest).__name__}")


def build_channels(config: Destinations, *, transport: httpx.BaseTransport | None = None) -> dict[str, Channel]:
    """One adapter per configured destination."""
    return {name: build_channel(name, dest, config, transport=transport) for name, dest in config.destinations.items()}
