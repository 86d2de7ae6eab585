"""Console channel: the built-in default destination, printing plain text."""

from __future__ import annotations

import sys
import threading
from typing import TextIO

from alert_worker.channels.base import SendContext, SendResult
from alert_worker.channels.render import NO_LINKS, Links, render
from alert_worker.models import NotificationJob


class ConsoleChannel:
    """Writes each notification as plain text to a stream (stdout by default)."""

    kind = "console"

    def __init__(self, stream: TextIO | None = None, *, links: Links = NO_LINKS, template_dir: str = "") -> None:
        self._stream = stream
        self._links = links
        self._template_dir = template_dir
        self._lock = threading.Lock()

    def send(self, job: NotificationJob, ctx: SendContext) -> SendResult:
        text = render(job, "console", self._links, template_dir=self._template_dir).text
        stream = self._stream or sys.stdout
        with self._lock:
            stream.write(f"--- heron notification {job.idempotency_key} -> {job.destination}\n{text}\n")
            stream.flush()
        return SendResult(detail="printed")
