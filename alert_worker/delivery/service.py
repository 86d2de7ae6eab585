"""Deliver one notification job: outbox claim, shared rate limit, channel send, retry or dead-letter."""

from __future__ import annotations

import logging
import os
import random
import socket
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Literal, Protocol

from alert_worker.channels.base import Channel, SendContext, SendResult
from alert_worker.channels.exceptions import PermanentError, TransientError
from alert_worker.channels.redact import redact
from alert_worker.channels.render import COLLAPSED
from alert_worker.delivery import metrics
from alert_worker.delivery.outbox import Outbox
from alert_worker.delivery.policy import DeliveryPolicy, backoff_delay
from alert_worker.delivery.ratelimit import RateLimiter
from alert_worker.delivery.state import DestinationState, Health, LastSent
from alert_worker.models import Alert, NotificationJob

log = logging.getLogger(__name__)
OutcomeStatus = Literal["sent", "duplicate", "busy", "retry", "dead", "superseded"]
SUPERSEDED = "superseded"
"""Outbox remote id of a notification not sent because a newer one of its alert group already went."""


class Clock(Protocol):
    def now(self) -> float: ...
    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def now(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


@dataclass(frozen=True)
class Outcome:
    """What happened to a job; `retry_in` is the countdown for the next attempt when status is retry/busy."""

    status: OutcomeStatus
    retry_in: float = 0.0
    detail: str = ""


@dataclass(frozen=True)
class Rate:
    per_second: float
    burst: int = 1


@dataclass
class DeliveryService:
    """Everything `deliver` needs, injected: adapters, stores, policy, clock."""

    channels: Mapping[str, Channel]
    outbox: Outbox
    limiter: RateLimiter
    state: DestinationState
    rates: Mapping[str, Rate] = field(default_factory=dict)
    policy: DeliveryPolicy = field(default_factory=DeliveryPolicy)
    clock: Clock = field(default_factory=SystemClock)
    fallback: str = ""
    #: How meta-notifications reach the fallback (a Celery send in the worker); inline when None.
    enqueue: Callable[[NotificationJob], None] | None = None
    rng: random.Random = field(default_factory=random.Random)
    owner: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}")

    def close(self) -> None:
        """Release the channels' connections."""
        for channel in self.channels.values():
            close = getattr(channel, "close", None)
            if callable(close):
                close()

    def deliver(self, job: NotificationJob) -> Outcome:
        try:
            outcome = self._deliver(job)
        finally:
            # This attempt is over (sent, dead, or retried later): the next message may go.
            self.limiter.release(job.destination, job.idempotency_key)
        kind = getattr(self.channels.get(job.destination), "kind", "unknown")
        metrics.notifications.add(1, {"destination": job.destination, "channel": kind, "outcome": outcome.status})
        log.info("notification %s -> %s: %s %s", job.idempotency_key, job.destination, outcome.status, outcome.detail)
        return outcome

    def _deliver(self, job: NotificationJob) -> Outcome:
        state = self.outbox.state(job.idempotency_key)
        if state not in ("sent", "dead"):
            self.outbox.seen(job, self.clock.now())
        if state in ("sent", "dead"):
            return Outcome("duplicate", detail="already handled")
        channel = self.channels.get(job.destination)
        if channel is None:
            known = ", ".join(sorted(self.channels)) or "none"
            reason = f"destination {job.destination!r} is not configured (configured: {known})"
            return self._dead(job, reason, claim_first=True)
        while True:
            outcome = self._round(job, channel)
            if outcome is not None:
                return outcome

    def _round(self, job: NotificationJob, channel: Channel) -> Outcome | None:
        """One pass: age check, rate limit, claim, send. None means "go again now"."""
        age = self.clock.now() - job.created_at.timestamp()
        if age > self.policy.max_age:
            return self._dead(job, f"expired: {age:.0f}s old > max age {self.policy.max_age:.0f}s", claim_first=True)
        # One notice of an alert group in flight per destination: a firing and a resolved notice held by
        # two workers can never pass each other.
        holder = job.idempotency_key
        lease = self.policy.lease + self.policy.max_inline_wait
        if not self.state.hold_group(job.destination, job.group_key, holder, lease):
            return Outcome("busy", retry_in=0.5, detail="another notice of this alert group is being sent")
        try:
            return self._held_round(job, channel)
        finally:
            self.state.release_group(job.destination, job.group_key, holder)

    def _held_round(self, job: NotificationJob, channel: Channel) -> Outcome | None:
        waited = self._wait_for_token(job)
        if waited is not None:
            return Outcome("retry", retry_in=waited, detail="waiting for the destination's rate limit")
        claim = self.outbox.claim(job, self.owner, self.clock.now(), self.policy.lease)
        if claim.status in ("sent", "dead"):
            return Outcome("duplicate", detail=f"already {claim.status}")
        if claim.status == "later":
            return Outcome("retry", retry_in=claim.lease_until - self.clock.now(), detail="not due yet")
        if claim.status == "busy":
            retry_in = max(0.5, claim.lease_until - self.clock.now())
            return Outcome("busy", retry_in=retry_in, detail="held by another worker")
        if claim.recovered:
            log.warning("notification %s: taking over an expired send (may repeat one message)", job.idempotency_key)
        job, stale = self._in_group_order(job)
        return stale or self._attempt(job, channel, claim.attempts)

    def _in_group_order(self, job: NotificationJob) -> tuple[NotificationJob, Outcome | None]:
        """Per alert group and destination, the newest notice wins: an older one is never sent after it."""
        last = self.state.last_sent(job.destination, job.group_key)
        if last is not None and job.created_at.timestamp() <= last.created_at:
            # Sending it would leave the chat showing an older state (e.g. FIRING after RESOLVED).
            self.outbox.mark_sent(job.idempotency_key, self.clock.now(), SUPERSEDED, self.policy.retention)
            detail = f"a newer {last.status} notice of this alert group was already sent"
            return job, Outcome("superseded", detail=detail)
        if job.status == "resolved" and not self._shows_firing(job, last):
            # Its firing notice has not gone (held up behind a backlog): this one message tells both.
            return replace(job, extra={**job.extra, COLLAPSED: "true"}), None
        return job, None

    def _shows_firing(self, job: NotificationJob, last: LastSent | None) -> bool:
        """Whether the destination's newest message of the group is a firing one.

        The order record decides; only without one (a message sent before it existed, or after it expired)
        does a stored message id stand for a firing message. After a resolved notice the stored id is the
        previous episode's: a later episode whose firing notice is still held up is not in the chat.
        """
        if last is not None:
            return last.status == "firing"
        return bool(self.state.remote_id(job.destination, job.group_key))

    def _wait_for_token(self, job: NotificationJob) -> float | None:
        """Block until the rate limit grants a token; return a countdown instead when the wait is long."""
        rate = self.rates.get(job.destination, Rate(1.0))
        seq = job.created_at.timestamp()
        waited = 0.0
        while True:
            wait = self.limiter.acquire(job.destination, job.idempotency_key, seq, rate.per_second, rate.burst)
            if wait <= 0:
                return None
            if waited + wait > self.policy.max_inline_wait:
                return wait  # re-queued with a countdown; `deliver` gives the place up
            # Poll at least every second so the queue sees this waiter alive.
            step = min(wait, 1.0)
            self.clock.sleep(step)
            waited += step

    def _attempt(self, job: NotificationJob, channel: Channel, attempts: int) -> Outcome | None:
        dest = job.destination
        # A resolved notice edits (or replies to) the group's firing message only when that message is the
        # newest of the group here; a collapsed notice stands alone.
        edits = job.status == "resolved" and COLLAPSED not in job.extra
        ctx = SendContext(
            previous_remote_id=self.state.remote_id(dest, job.group_key) if edits else None,
            overrides=self.state.overrides(dest),
            progress=self.state.progress(dest, job.idempotency_key),
        )
        started = time.perf_counter()
        try:
            result = channel.send(job, ctx)
        except TransientError as exc:
            if exc.progress is not None:
                self.state.save_progress(dest, job.idempotency_key, exc.progress, self.policy.retention)
            return self._transient(job, attempts, exc)
        except PermanentError as exc:
            if exc.destination_broken:
                self._unhealthy(dest, exc.reason)
            return self._dead(job, f"permanent: {exc.reason}")
        except Exception as exc:
            # A bug or a broken template: retry with backoff so a fix can still deliver it, bounded by max age.
            log.exception("notification %s: unexpected error from the %s channel", job.idempotency_key, dest)
            return self._transient(job, attempts, TransientError(f"{type(exc).__name__}: {redact(str(exc))}"))
        finally:
            metrics.send_duration.record(time.perf_counter() - started, {"destination": dest})
        self._record_sent(job, result)
        return Outcome("sent", detail=result.detail)

    def _record_sent(self, job: NotificationJob, result: SendResult) -> None:
        dest = job.destination
        self.outbox.mark_sent(job.idempotency_key, self.clock.now(), result.remote_id, self.policy.retention)
        self.state.save_overrides(dest, dict(result.updates))
        if job.status == "firing":
            self.state.save_remote_id(dest, job.group_key, result.remote_id, self.policy.retention)
        sent = LastSent(job.created_at.timestamp(), job.status)
        self.state.save_last_sent(dest, job.group_key, sent, self.policy.retention)
        if self.state.set_health(dest, Health(healthy=True, since=self.clock.now())):
            log.warning("destination %s is healthy again", dest)

    def _transient(self, job: NotificationJob, attempts: int, exc: TransientError) -> Outcome | None:
        now = self.clock.now()
        if exc.retry_after is not None:
            self.limiter.pause(job.destination, exc.retry_after)
            delay = exc.retry_after
        else:
            delay = backoff_delay(attempts, self.policy, self.rng)
        age = now - job.created_at.timestamp()
        reason = redact(exc.reason)
        if age + delay > self.policy.max_age:
            return self._dead(job, f"gave up after {attempts} attempt(s) over {age:.0f}s: {reason}")
        self.outbox.mark_retry(job.idempotency_key, self.owner, reason, now + delay)
        if exc.retry_after is not None and delay <= self.policy.max_inline_wait:
            return None  # the limiter holds every sender back until the pause ends: try again inline
        return Outcome("retry", retry_in=delay, detail=reason)

    def _dead(self, job: NotificationJob, reason: str, *, claim_first: bool = False) -> Outcome:
        reason = redact(reason)
        if claim_first:
            self.outbox.claim(job, self.owner, self.clock.now(), self.policy.lease)
        self.outbox.mark_dead(job.idempotency_key, self.clock.now(), reason, self.policy.retention)
        log.error("notification %s -> %s dead-lettered: %s", job.idempotency_key, job.destination, reason)
        return Outcome("dead", detail=reason)

    def _unhealthy(self, dest: str, reason: str) -> None:
        now = self.clock.now()
        if not self.state.set_health(dest, Health(healthy=False, reason=redact(reason), since=now)):
            return
        kind = getattr(self.channels.get(dest), "kind", "unknown")
        metrics.unhealthy_transitions.add(1, {"destination": dest, "channel": kind})
        log.error("destination %s is unhealthy: %s", dest, redact(reason))
        if self.fallback and self.fallback != dest:
            meta = unhealthy_notice(dest, self.fallback, redact(reason), now)
            (self.enqueue or self.deliver)(meta)


def unhealthy_notice(dest: str, fallback: str, reason: str, now: float) -> NotificationJob:
    """The meta-notification sent to the fallback destination when `dest` starts failing permanently."""
    when = datetime.fromtimestamp(now, UTC)
    labels = {"alertname": "HeronDestinationUnhealthy", "destination": dest, "severity": "critical"}
    alert = Alert(
        rule="HeronDestinationUnhealthy",
        labels=labels,
        annotations={
            "summary": f"Notifications to destination {dest} fail permanently",
            "description": f"{reason}. Fix the destination's configuration; notifications to it are dead-lettered.",
        },
        status="firing",
        starts_at=when,
    )
    return NotificationJob(
        idempotency_key=f"heron-meta:{dest}:unhealthy:{int(now)}",
        destination=fallback,
        group_key=f"heron-meta/{dest}",
        group_labels={"alertname": "HeronDestinationUnhealthy", "destination": dest},
        status="firing",
        alerts=(alert,),
        created_at=when,
    )
