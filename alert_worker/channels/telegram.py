"""Telegram Bot API channel: sendMessage in HTML parse mode, with the API's error rules."""

from __future__ import annotations

import json
import logging
from typing import Any, NoReturn

import httpx

from alert_worker.channels.base import SendContext, SendResult
from alert_worker.channels.exceptions import PermanentError, TransientError
from alert_worker.channels.http import DEFAULT_TIMEOUT, body_excerpt, make_client, post
from alert_worker.channels.render import NO_LINKS, Links, render
from alert_worker.channels.telegram_html import MAX_MESSAGE, limit_parts, split_html, strip_html
from alert_worker.models import NotificationJob

log = logging.getLogger(__name__)
DEFAULT_API_URL = "https://api.telegram.org"
# 400 descriptions that mean the chat itself is unusable, not just this message.
_BROKEN_400 = ("chat not found", "bot was kicked", "not enough rights", "chat_write_forbidden", "bot is not a member")


class _BadMarkup(Exception):
    """400 can't parse entities: this text must go out as plain text.

    `sent` holds the ids of the parts of the same message already shown, before the rejected one.
    """

    def __init__(self, description: str, sent: list[str] | None = None) -> None:
        super().__init__(description)
        self.sent = sent or []


class _Migrated(Exception):
    def __init__(self, chat_id: str) -> None:
        super().__init__(chat_id)
        self.chat_id = chat_id


class TelegramChannel:
    """Sends to one chat through one bot."""

    kind = "telegram"

    def __init__(
        self,
        token: str,
        chat_id: str,
        *,
        api_url: str = DEFAULT_API_URL,
        edit_on_resolve: bool = False,
        disable_notification: bool = False,
        max_parts: int = 3,
        links: Links = NO_LINKS,
        template_dir: str = "",
        timeout: float = DEFAULT_TIMEOUT,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._token = token
        self.chat_id = chat_id
        self._api = api_url.rstrip("/")
        self._edit_on_resolve = edit_on_resolve
        self._silent = disable_notification
        self._max_parts = max_parts
        self._links = links
        self._template_dir = template_dir
        self._client = make_client(transport, timeout)

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._client.close()

    def __repr__(self) -> str:
        return f"TelegramChannel(chat_id={self.chat_id!r}, token=***)"

    def _call(self, method: str, payload: dict[str, Any]) -> dict[str, Any]:
        response = post(self._client, f"{self._api}/bot{self._token}/{method}", json=payload, what=f"telegram {method}")
        try:
            body = response.json()
        except ValueError:
            body = {}
        if not isinstance(body, dict):
            body = {}
        if response.status_code != 200 or not body.get("ok"):
            self._raise(method, response, body)
        result = body.get("result")
        return result if isinstance(result, dict) else {}

    def _raise(self, method: str, response: httpx.Response, body: dict[str, Any]) -> NoReturn:
        status = response.status_code
        description = str(body.get("description") or body_excerpt(response))
        raw_params = body.get("parameters")
        params: dict[str, Any] = raw_params if isinstance(raw_params, dict) else {}
        detail = f"telegram {method}: HTTP {status} {description}"
        if status == 429:
            retry_after = params.get("retry_after")
            raise TransientError(detail, retry_after=float(retry_after) if retry_after is not None else None)
        if status == 400 and params.get("migrate_to_chat_id") is not None:
            raise _Migrated(str(params["migrate_to_chat_id"]))
        if status == 400 and "can't parse entities" in description.lower():
            raise _BadMarkup(description)
        if status >= 500:
            raise TransientError(detail)
        broken = status in (401, 403, 404) or any(s in description.lower() for s in _BROKEN_400)
        raise PermanentError(detail, destination_broken=broken)

    def _send_parts(self, chat_id: str, parts: list[str], html: bool, done: list[str]) -> list[str]:
        """Send `parts` after the ones already `done` (message ids of an earlier attempt of this job).

        A failure part-way raises TransientError carrying the ids sent so far, so the retry continues
        with the next part instead of repeating the first ones.
        """
        ids = list(done)
        mode = "html" if html else "plain"
        for part in parts[len(ids) :]:
            payload: dict[str, Any] = {"chat_id": chat_id, "text": part, "disable_notification": self._silent}
            payload["link_preview_options"] = {"is_disabled": True}
            if html:
                payload["parse_mode"] = "HTML"
            try:
                result = self._call("sendMessage", payload)
            except _BadMarkup as exc:
                raise _BadMarkup(str(exc), sent=ids) from exc
            except TransientError as exc:
                if not ids:
                    raise
                progress = json.dumps({"mode": mode, "ids": ids})
                raise TransientError(str(exc), retry_after=exc.retry_after, progress=progress) from exc
            ids.append(str(result.get("message_id", "")))
        return ids

    def _deliver(self, chat_id: str, html_text: str, progress: str | None) -> list[str]:
        mode, done = _parse_progress(progress)
        parts = limit_parts(split_html(html_text), self._max_parts, MAX_MESSAGE)
        if mode != "plain":
            try:
                return self._send_parts(chat_id, parts, html=True, done=done)
            except _BadMarkup as exc:
                log.warning("telegram rejected the HTML markup (%s); sending the rest as plain text", exc)
                done = exc.sent  # the parts already shown as HTML stay; the next one goes as plain text
        # The same parts without markup (a part's visible text fits), so plain text continues where
        # the HTML stopped instead of repeating what the chat already shows.
        return self._send_parts(chat_id, [strip_html(p) for p in parts], html=False, done=done)

    def _try_edit(self, chat_id: str, message_id: str, html_text: str) -> bool:
        parts = split_html(html_text)
        if len(parts) != 1:
            return False
        payload = {"chat_id": chat_id, "message_id": int(message_id), "text": parts[0], "parse_mode": "HTML"}
        try:
            self._call("editMessageText", payload)
        except (PermanentError, _BadMarkup) as exc:
            # The message may be too old or deleted; a fresh message still tells the user.
            log.info("telegram could not edit message %s (%s); sending a new one", message_id, exc)
            return False
        return True

    def send(self, job: NotificationJob, ctx: SendContext) -> SendResult:
        chat_id = ctx.overrides.get("chat_id", self.chat_id)
        updates: dict[str, str] = {}
        html_text = render(job, "telegram", self._links, template_dir=self._template_dir).text
        for _ in range(2):
            try:
                previous = ctx.previous_remote_id
                editable = self._edit_on_resolve and job.status == "resolved" and previous and previous.isdigit()
                if editable and previous and self._try_edit(chat_id, previous, html_text):
                    return SendResult(remote_id=previous, detail="edited", updates=updates)
                ids = self._deliver(chat_id, html_text, ctx.progress)
                return SendResult(remote_id=ids[0] if ids else "", detail=f"{len(ids)} message(s)", updates=updates)
            except _Migrated as migrated:
                log.warning("telegram chat %s migrated to %s; using the new id", chat_id, migrated.chat_id)
                chat_id = migrated.chat_id
                updates["chat_id"] = chat_id
        raise PermanentError(f"telegram: chat id kept migrating (last {chat_id})")


def _parse_progress(progress: str | None) -> tuple[str, list[str]]:
    """(mode, message ids already sent) from an earlier attempt's progress; nothing sent when unreadable."""
    if not progress:
        return "html", []
    try:
        data = json.loads(progress)
        mode, ids = str(data["mode"]), [str(i) for i in data["ids"]]
    except (ValueError, KeyError, TypeError):
        log.warning("telegram: ignoring unreadable progress %r of an earlier attempt", progress[:80])
        return "html", []
    return (mode if mode in {"html", "plain"} else "html"), ids
