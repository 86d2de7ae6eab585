"""Thin Celery tasks: evaluate one rule group by name (idempotent per group and time slot)."""

from __future__ import annotations

import logging
import time
from typing import Any

from alert_worker import telemetry
from alert_worker.celery_app import EVALUATE_TASK, app, enqueue_delivery
from alert_worker.engine import evaluate_group
from alert_worker.models import NotificationJob
from alert_worker.runtime import Runtime

log = logging.getLogger(__name__)
_runtime: Runtime | None = None


def _enqueue(job: NotificationJob) -> None:
    enqueue_delivery(job)
    telemetry.jobs_queued(job.destination)


def runtime() -> Runtime:
    global _runtime  # noqa: PLW0603 - one engine per worker process, built on first use
    if _runtime is None:
        _runtime = Runtime(app.conf.heron_config, _enqueue)
    return _runtime


@app.task(  # type: ignore[untyped-decorator]  # Celery ships no type hints
    name=EVALUATE_TASK, acks_late=True, reject_on_worker_lost=True, ignore_result=True
)
def evaluate_group_task(group_name: str) -> dict[str, Any]:
    """Evaluate `group_name` now; a repeat within the same slot is a no-op."""
    rt = runtime()
    group = rt.groups().get(group_name)
    if group is None:
        log.warning("rule group %r is not in the rule files any more; skipping", group_name)
        return {"group": group_name, "status": "unknown"}
    started = time.perf_counter()
    outcome = evaluate_group(rt.engine, group, time.time())
    telemetry.evaluation(outcome, time.perf_counter() - started)
    return {"group": group_name, "status": outcome.status, "jobs": len(outcome.jobs), "slot": outcome.slot}
