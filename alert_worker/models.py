"""Value objects shared by the alert engine and the delivery layer.

The seam between them is `NotificationJob`: the engine emits one job per
(alert group transition, destination); the delivery layer sends it at most once
successfully, keyed by `idempotency_key`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

AlertStatus = Literal["firing", "resolved"]


@dataclass(frozen=True)
class Alert:
    """One alert instance (a rule x one label set), as a notification shows it."""

    rule: str
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    status: AlertStatus
    starts_at: datetime
    ends_at: datetime | None = None
    value: float | None = None
    fingerprint: str = ""
    generator_url: str = ""


@dataclass(frozen=True)
class NotificationJob:
    """One message to one destination.

    `idempotency_key` is unique per (alert group transition, destination): retrying or
    re-enqueuing a job with the same key must never produce a second successful send.
    """

    idempotency_key: str
    destination: str
    group_key: str
    group_labels: Mapping[str, str]
    status: AlertStatus
    alerts: tuple[Alert, ...]
    created_at: datetime
    extra: Mapping[str, str] = field(default_factory=dict)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _dt(value: object) -> datetime | None:
    return datetime.fromisoformat(str(value)) if value is not None else None


def _str_map(value: object) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValueError(f"expected a mapping of strings, got {type(value).__name__}")
    return {str(k): str(v) for k, v in value.items()}


def _status(value: object) -> AlertStatus:
    if value == "firing":
        return "firing"
    if value == "resolved":
        return "resolved"
    raise ValueError(f"status must be 'firing' or 'resolved', got {value!r}")


def alert_to_dict(alert: Alert) -> dict[str, object]:
    """JSON-safe form of an `Alert` (the Celery message body uses JSON)."""
    return {
        "rule": alert.rule,
        "labels": dict(alert.labels),
        "annotations": dict(alert.annotations),
        "status": alert.status,
        "starts_at": _iso(alert.starts_at),
        "ends_at": _iso(alert.ends_at),
        "value": alert.value,
        "fingerprint": alert.fingerprint,
        "generator_url": alert.generator_url,
    }


def alert_from_dict(data: Mapping[str, object]) -> Alert:
    status = _status(data["status"])
    starts_at = _dt(data["starts_at"])
    if starts_at is None:
        raise ValueError("alert starts_at is required")
    value = data.get("value")
    return Alert(
        rule=str(data["rule"]),
        labels=_str_map(data.get("labels")),
        annotations=_str_map(data.get("annotations")),
        status=status,
        starts_at=starts_at,
        ends_at=_dt(data.get("ends_at")),
        value=float(value) if isinstance(value, int | float) else None,
        fingerprint=str(data.get("fingerprint", "")),
        generator_url=str(data.get("generator_url", "")),
    )


def job_to_dict(job: NotificationJob) -> dict[str, object]:
    """JSON-safe form of a `NotificationJob`, the body of the delivery task."""
    return {
        "idempotency_key": job.idempotency_key,
        "destination": job.destination,
        "group_key": job.group_key,
        "group_labels": dict(job.group_labels),
        "status": job.status,
        "alerts": [alert_to_dict(a) for a in job.alerts],
        "created_at": job.created_at.isoformat(),
        "extra": dict(job.extra),
    }


def job_from_dict(data: Mapping[str, object]) -> NotificationJob:
    """Inverse of `job_to_dict`; raises ValueError/KeyError on a malformed body."""
    status = _status(data["status"])
    alerts = data.get("alerts") or []
    if not isinstance(alerts, list):
        raise ValueError("job alerts must be a list")
    created = _dt(data["created_at"])
    if created is None:
        raise ValueError("job created_at is required")
    return NotificationJob(
        idempotency_key=str(data["idempotency_key"]),
        destination=str(data["destination"]),
        group_key=str(data["group_key"]),
        group_labels=_str_map(data.get("group_labels")),
        status=status,
        alerts=tuple(alert_from_dict(a) for a in alerts),
        created_at=created,
        extra=_str_map(data.get("extra")),
    )
