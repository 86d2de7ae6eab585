"""Discord webhook channel."""

from __future__ import annotations

from alert_worker.channels.base import SendContext, SendResult
from alert_worker.channels.exceptions import PermanentError
from alert_worker.channels.http import TemplatedWebhook, body_excerpt, classify_status, post
from alert_worker.channels.render import render
from alert_worker.models import NotificationJob

CONTENT_LIMIT = 2000


class DiscordChannel(TemplatedWebhook):
    """Posts to one Discord webhook; mentions are disabled so label values cannot ping anyone."""

    kind = "discord"

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
