"""Shared HTTP plumbing for webhook-style channels: one client per channel, errors translated at the edge."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from alert_worker.channels.exceptions import PermanentError, TransientError
from alert_worker.channels.redact import redact
from alert_worker.channels.render import NO_LINKS, Links

DEFAULT_TIMEOUT = 10.0
USER_AGENT = "heron-alert-worker"


def make_client(transport: httpx.BaseTransport | None, timeout: float) -> httpx.Client:
    """An httpx client; tests pass `httpx.MockTransport`, production uses the default transport."""
    return httpx.Client(transport=transport, timeout=timeout, headers={"User-Agent": USER_AGENT})


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP date); None when absent or bad."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def post(
    client: httpx.Client, url: str, *, json: Any, what: str, headers: dict[str, str] | None = None
) -> httpx.Response:
    """POST and translate transport failures into `TransientError` with the URL redacted."""
    try:
        return client.post(url, json=json, headers=headers)
    except httpx.TimeoutException as exc:
        raise TransientError(f"{what}: timed out ({type(exc).__name__})") from None
    except httpx.TransportError as exc:
        raise TransientError(f"{what}: network error: {redact(str(exc))}") from None


def body_excerpt(response: httpx.Response, limit: int = 200) -> str:
    """The start of a response body for error messages, secrets redacted."""
    return redact(response.text[:limit].strip())


def classify_status(response: httpx.Response, what: str, *, retry_after: float | None = None) -> None:
    """Raise for a non-2xx answer: 429/408/5xx are transient, other 4xx permanent."""
    status = response.status_code
    if 200 <= status < 300:
        return
    detail = f"{what}: HTTP {status} {body_excerpt(response)}".rstrip()
    if status == 429:
        wait = retry_after if retry_after is not None else parse_retry_after(response.headers.get("Retry-After"))
        raise TransientError(f"{detail} (rate limited)", retry_after=wait)
    if status == 408 or status >= 500:
        raise TransientError(detail, retry_after=parse_retry_after(response.headers.get("Retry-After")))
    raise PermanentError(detail, destination_broken=status in (401, 403, 404, 410))


class TemplatedWebhook:
    """What Slack and Discord share: one secret webhook URL, templates to render, a pooled client."""

    def __init__(
        self,
        webhook_url: str,
        *,
        links: Links = NO_LINKS,
        template_dir: str = "",
        timeout: float = DEFAULT_TIMEOUT,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._url = webhook_url
        self._links = links
        self._template_dir = template_dir
        self._client = make_client(transport, timeout)

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._client.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(webhook_url=***)"
