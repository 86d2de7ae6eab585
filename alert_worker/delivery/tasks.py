"""Celery tasks of delivery: ``heron.deliver`` (one job) and ``heron.deliver_sweep`` (lost messages).

Both are thin wrappers around `DeliveryService` and `RedisOutbox`.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from celery.signals import after_setup_logger, after_setup_task_logger

from alert_worker.celery_app import DELIVER_TASK, RESTORE_SCAN_S, app, enqueue_delivery
from alert_worker.channels.config import resolve_destinations
from alert_worker.channels.redact import install_log_redaction
from alert_worker.config import AlertsConfig
from alert_worker.delivery.outbox import RedisOutbox
from alert_worker.delivery.policy import DeliveryPolicy, resolve_policy
from alert_worker.delivery.service import DeliveryService
from alert_worker.delivery.wiring import build_service
from alert_worker.models import job_from_dict
from alert_worker.redis_client import connect

log = logging.getLogger(__name__)
SWEEP_TASK = "heron.deliver_sweep"


def sweep_grace(config: AlertsConfig) -> float:
    """How long past due, with no task run for it, a notification must be to count as lost.

    A live task runs at least every half visibility timeout (the longest countdown), and a task of a
    killed worker comes back after the visibility timeout plus one restore scan; twice the timeout
    covers both with room to spare.
    """
    return 2 * config.visibility_timeout_s + RESTORE_SCAN_S


_service: DeliveryService | None = None


def service() -> DeliveryService:
    """One delivery service per worker process, built on first use from the environment."""
    global _service  # noqa: PLW0603 - one service (HTTP pools, Redis client) per worker process
    if _service is None:
        config: AlertsConfig = app.conf.heron_config
        client = connect(config.redis_target)
        # An inline wait must end well before the broker would hand the task to another worker.
        policy = resolve_policy(max_inline_wait=min(DeliveryPolicy.max_inline_wait, config.visibility_timeout_s / 2))
        _service = build_service(
            resolve_destinations(),
            client,
            policy=policy,
            enqueue=enqueue_delivery,
            health_gauge=True,
            replica_wait=config.replica_wait(),
        )
    return _service


def _redact_logs(logger: logging.Logger, **_: Any) -> None:
    install_log_redaction(logger)


after_setup_logger.connect(_redact_logs)
after_setup_task_logger.connect(_redact_logs)


def countdown(retry_in: float) -> float:
    """The retry countdown, at most half the broker's visibility timeout.

    A worker holds a task with a countdown unacknowledged until it is due; one held longer than the
    visibility timeout would be handed out a second time. A longer wait takes several hops: the
    outbox refuses an attempt before the notification is due (`Claim.status` "later").
    """
    config: AlertsConfig = app.conf.heron_config
    return min(retry_in, config.visibility_timeout_s / 2)


@app.task(  # type: ignore[untyped-decorator]  # Celery ships no type hints
    name=DELIVER_TASK,
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
    # Never give up by count: the delivery layer bounds a notification by its age (HERON_ALERTS_DELIVERY_MAX_AGE)
    # and dead-letters it then. Celery's default of 3 would drop a job after its third rate-limit wait.
    max_retries=None,
)
def deliver_task(self: Any, payload: dict[str, Any]) -> dict[str, Any]:
    """Deliver one notification job; retried with the countdown the delivery layer asks for."""
    try:
        job = job_from_dict(payload)
    except (KeyError, ValueError, TypeError) as exc:
        log.error("dropping a malformed notification job: %s", exc)
        return {"status": "rejected", "detail": str(exc)}
    outcome = service().deliver(job)
    if outcome.status in ("retry", "busy"):
        raise self.retry(countdown=countdown(outcome.retry_in))
    return {"key": job.idempotency_key, "status": outcome.status, "detail": outcome.detail}


@app.task(name=SWEEP_TASK, ignore_result=True)  # type: ignore[untyped-decorator]  # Celery ships no type hints
def sweep_task() -> int:
    """Re-enqueue notifications whose task message was lost (e.g. the broker restarted without persistence)."""
    outbox = service().outbox
    if not isinstance(outbox, RedisOutbox):
        return 0
    jobs = outbox.stuck(time.time(), sweep_grace(app.conf.heron_config))
    for job in jobs:
        log.warning("re-enqueuing notification %s -> %s (its task was lost)", job.idempotency_key, job.destination)
        enqueue_delivery(job)
    return len(jobs)
