"""The Celery task around delivery: it keeps retrying for as long as the delivery layer asks."""

from __future__ import annotations

from typing import Any

import pytest
from celery.canvas import Signature
from celery.exceptions import Retry

from alert_worker.delivery import tasks
from alert_worker.delivery.service import Outcome
from alert_worker.models import job_to_dict
from tests.fixtures.standins.jobs import make_job


class _Busy:
    def deliver(self, job: Any) -> Outcome:
        return Outcome("busy", retry_in=0.5, detail="another notice of this alert group is being sent")


def test_a_notification_is_retried_however_often_it_must_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    """Celery's default gives up after 3 retries; a notification behind a backlog may wait many more times."""
    monkeypatch.setattr(tasks, "service", _Busy)
    requeued: list[float] = []
    monkeypatch.setattr(Signature, "apply_async", lambda sig, *a, **kw: requeued.append(sig.options["countdown"]))
    payload = job_to_dict(make_job())
    task = tasks.deliver_task
    for retries in (0, 3, 50):
        task.push_request(retries=retries, id=f"t{retries}", called_directly=False)
        try:
            with pytest.raises(Retry):
                task.run(payload)
        finally:
            task.pop_request()
    assert requeued == [0.5, 0.5, 0.5]
