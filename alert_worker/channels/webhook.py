"""Generic webhook channel carrying an Alertmanager-compatible (version 4) JSON payload."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx

from alert_worker.channels.base import SendContext, SendResult
from alert_worker.channels.http import DEFAULT_TIMEOUT, classify_status, make_client, post
from alert_worker.channels.render import NO_LINKS, Links
from alert_worker.models import Alert, NotificationJob

# Alertmanager writes this for "no end time yet".
_ZERO_TIME = "0001-01-01T00:00:00Z"


def _rfc3339(value: datetime | None) -> str:
    if value is None:
        return _ZERO_TIME
    return value.isoformat().replace("+00:00", "Z")


def _common(maps: list[dict[str, str]]) -> dict[str, str]:
    if not maps:
        return {}
    return {k: v for k, v in maps[0].items() if all(m.get(k) == v for m in maps[1:])}


def _alert(alert: Alert) -> dict[str, Any]:
    labels = {"alertname": alert.rule, **alert.labels}
    return {
        "status": alert.status,
        "labels": labels,
        "annotations": dict(alert.annotations),
        "startsAt": _rfc3339(alert.starts_at),
        "endsAt": _rfc3339(alert.ends_at),
        "generatorURL": alert.generator_url,
        "fingerprint": alert.fingerprint,
    }


def alertmanager_payload(job: NotificationJob, receiver: str, external_url: str = "") -> dict[str, Any]:
    """The body Alertmanager's webhook receiver sends, so existing receivers work unchanged."""
    alerts = [_alert(a) for a in job.alerts]
    return {
        "version": "4",
        "groupKey": job.group_key,
        "truncatedAlerts": 0,
        "status": job.status,
        "receiver": receiver,
        "groupLabels": dict(job.group_labels),
        "commonLabels": _common([a["labels"] for a in alerts]),
        "commonAnnotations": _common([a["annotations"] for a in alerts]),
        "externalURL": external_url,
        "alerts": alerts,
    }


class WebhookChannel:
    """POSTs the Alertmanager payload; the `Idempotency-Key` header lets receivers drop a repeat."""

    kind = "webhook"

    def __init__(
        self,
        url: str,
        *,
        receiver: str,
        bearer_token: str = "",
        links: Links = NO_LINKS,
        timeout: float = DEFAULT_TIMEOUT,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._url = url
        self._receiver = receiver
        self._token = bearer_token
        self._links = links
        self._client = make_client(transport, timeout)

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._client.close()

    def __repr__(self) -> str:
        return f"WebhookChannel(receiver={self._receiver!r}, url=***)"

    def send(self, job: NotificationJob, ctx: SendContext) -> SendResult:
        headers = {"Idempotency-Key": job.idempotency_key}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        body = alertmanager_payload(job, self._receiver, self._links.external_url)
        response = post(self._client, self._url, json=body, what=f"webhook {self._receiver}", headers=headers)
        classify_status(response, f"webhook {self._receiver}")
        return SendResult(detail=f"HTTP {response.status_code}")
