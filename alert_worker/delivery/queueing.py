"""Hand a notification job to the delivery queue so that it keeps its place in its destination's order."""

from __future__ import annotations

from collections.abc import Callable

from alert_worker.delivery.ratelimit import RateLimiter
from alert_worker.models import NotificationJob


def queue_job(job: NotificationJob, limiter: RateLimiter, send: Callable[[NotificationJob], None]) -> None:
    """Announce `job` to the destination's rate limit, then `send` it to the queue.

    Announcing first means the job holds its place before any worker can pick up a newer one,
    so notifications to one destination leave in creation order whichever worker runs them.
    """
    limiter.announce(job.destination, job.idempotency_key, job.created_at.timestamp())
    try:
        send(job)
    except BaseException:
        limiter.release(job.destination, job.idempotency_key)
        raise
