"""The one interface every notification channel implements."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from alert_worker.models import NotificationJob


@dataclass(frozen=True)
class SendContext:
    """What the delivery layer knows about a destination beyond its static config.

    `previous_remote_id` is the id of the message sent when this alert group fired (Telegram
    edits it on resolve); `overrides` holds persisted corrections such as a migrated chat id;
    `progress` is what an earlier attempt of this notification already delivered (see TransientError).
    """

    previous_remote_id: str | None = None
    overrides: Mapping[str, str] = field(default_factory=dict)
    progress: str | None = None


@dataclass(frozen=True)
class SendResult:
    """A successful send. `updates` are corrections the delivery layer must persist."""

    remote_id: str = ""
    detail: str = ""
    updates: Mapping[str, str] = field(default_factory=dict)


class Channel(Protocol):
    """Sends one notification job to one destination.

    Raises `TransientError` when a retry can succeed and `PermanentError` when it cannot.
    """

    @property
    def kind(self) -> str: ...

    def send(self, job: NotificationJob, ctx: SendContext) -> SendResult: ...
