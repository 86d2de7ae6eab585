"""Slack incoming webhook channel: blocks with a plain-text fallback."""

from __future__ import annotations

from dataclasses import dataclass

from alert_worker.channels.base import SendContext, SendResult
from alert_worker.channels.exceptions import PermanentError
from alert_worker.channels.http import TemplatedWebhook, classify_status, post
from alert_worker.channels.render import Links, render, slack_escape
from alert_worker.models import NotificationJob

SECTION_LIMIT = 3000
HEADER_LIMIT = 150
# Errors Slack answers with that mean the webhook itself is gone, not this one message.
_BROKEN = ("channel_not_found", "channel_is_archived", "no_service", "invalid_token", "action_prohibited")


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True)
class SlackPayload:
    text: str
    blocks: list[dict[str, object]]


def build_payload(job: NotificationJob, links: Links, template_dir: str = "") -> SlackPayload:
    """The webhook body: a header block, the rendered mrkdwn section(s), and `text` as fallback."""
    rendered = render(job, "slack", links, template_dir=template_dir)
    blocks: list[dict[str, object]] = [
        {"type": "header", "text": {"type": "plain_text", "text": _cut(rendered.subject, HEADER_LIMIT)}}
    ]
    body = rendered.text
    while body and len(blocks) < 20:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": _cut(body, SECTION_LIMIT)}})
        body = body[SECTION_LIMIT - 1 :] if len(body) > SECTION_LIMIT else ""
    return SlackPayload(text=slack_escape(rendered.subject), blocks=blocks)


class SlackChannel(TemplatedWebhook):
    """Posts to one Slack incoming webhook URL."""

    kind = "slack"

    def send(self, job: NotificationJob, ctx: SendContext) -> SendResult:
        payload = build_payload(job, self._links, self._template_dir)
        response = post(self._client, self._url, json={"text": payload.text, "blocks": payload.blocks}, what="slack")
        if response.status_code in (400, 403, 404, 410):
            error = response.text.strip()[:100]
            raise PermanentError(
                f"slack: HTTP {response.status_code} {error}",
                destination_broken=error in _BROKEN or response.status_code != 400,
            )
        classify_status(response, "slack")
        return SendResult(detail=response.text.strip()[:50])
