"""What the CLI calls: render a destination's message for an alert, or send a test message."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from alert_worker.channels.base import SendContext, SendResult
from alert_worker.channels.config import Destinations
from alert_worker.channels.registry import build_channel
from alert_worker.channels.render import preview
from alert_worker.models import Alert, NotificationJob


def sample_job(destination: str, *, status: str = "firing", now: datetime | None = None) -> NotificationJob:
    """A realistic one-alert job used by ``notify test`` and ``notify preview`` without an alert."""
    now = now or datetime.now(UTC)
    alert = Alert(
        rule="HeronTestNotification",
        labels={"alertname": "HeronTestNotification", "severity": "info", "instance": "heron-test"},
        annotations={
            "summary": "Heron test notification",
            "description": "If you can read this, the destination works.",
        },
        status="resolved" if status == "resolved" else "firing",
        starts_at=now - timedelta(minutes=5),
        ends_at=now if status == "resolved" else None,
        value=0.93,
    )
    return NotificationJob(
        idempotency_key=f"heron-test:{destination}:{now.timestamp():.6f}",
        destination=destination,
        group_key="heron-test",
        group_labels={"alertname": "HeronTestNotification"},
        status=alert.status,
        alerts=(alert,),
        created_at=now,
    )


def preview_destination(config: Destinations, name: str, job: NotificationJob | None = None) -> str:
    """``alert-worker notify preview``: the text destination `name` would show for `job`."""
    dest = config.get(name)
    kind = dest.type
    return preview(job or sample_job(name), kind, config.links, template_dir=config.template_dir)


def send_test(config: Destinations, name: str, *, transport: httpx.BaseTransport | None = None) -> SendResult:
    """``alert-worker notify test --channel NAME``: send a sample message straight to the destination.

    Bypasses the outbox and the rate limit; raises `TransientError` / `PermanentError` with a
    redacted reason when the destination refuses it.
    """
    channel = build_channel(name, config.get(name), config, transport=transport)
    return channel.send(sample_job(name), SendContext())
