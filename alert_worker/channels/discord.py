"""Discord webhook channel."""

from __future__ import annotations

import httpx

from alert_worker.channels.base import SendContext, SendResult
from alert_worker.channels.exceptions import PermanentError
from alert_worker.channels.http import DEFAULT_TIMEOUT, body_excerpt, classify_status, make_client, post
from alert_worker.channels.render import NO_LINKS, Links, render
from alert_worker.models import NotificationJob

CONTENT_LIMIT = 2000


class DiscordChannel:
    """Posts to one Discord webhook; mentions are disabled so label values cannot ping anyone."""

    kind = "discord"

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
        return "DiscordChannel(webhook_url=***)"

    def send(self, job: NotificationJob, ctx: SendContext) -> SendResult:
        text = render(job, "discord", self._links, template_dir=self._template_dir).text
        if len(text) > CONTENT_LIMIT:
            text = text[: CONTENT_LIMIT - 1] + "…"
        body = {"content": text, "allowed_mentions": {"parse": []}}
        # wait=true makes Discord answer with the created message instead of 204.
        url = self._url + ("&" if "?" in self._url else "?") + "wait=true"
        response = post(self._client, url, json=body, what="discord")
        retry_after: float | None = None
        if response.status_code == 429:
            try:
                retry_after = float(response.json().get("retry_after"))
            except (ValueError, TypeError, AttributeError):
                retry_after = None
        if response.status_code == 400:
            raise PermanentError(f"discord: HTTP 400 {body_excerpt(response)}", destination_broken=False)
        classify_status(response, "discord", retry_after=retry_after)
        try:
            message_id = str(response.json().get("id", ""))
        except ValueError:
            message_id = ""
        return SendResult(remote_id=message_id)
