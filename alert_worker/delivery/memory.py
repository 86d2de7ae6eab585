"""In-process implementations of the outbox, rate limiter and destination state.

For tests and for single-process use (`alert-worker notify test`); they share nothing across
processes, so production uses the Redis versions.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from alert_worker.delivery.outbox import DUE_SLACK, Claim, OutboxRecord
from alert_worker.delivery.state import Health, LastSent
from alert_worker.models import NotificationJob


@dataclass
class _Row:
    state: str = "pending"
    attempts: int = 0
    owner: str = ""
    lease_until: float = 0.0
    last_error: str = ""
    sent_at: float | None = None
    remote_id: str = ""
    recovered: int = 0
    next_at: float = 0.0


class InMemoryOutbox:
    def __init__(self) -> None:
        self.rows: dict[str, _Row] = {}
        self.dlq: list[str] = []
        self._lock = threading.Lock()

    def state(self, key: str) -> str | None:
        row = self.rows.get(key)
        return row.state if row else None

    def claim(self, job: NotificationJob, owner: str, now: float, lease: float) -> Claim:
        with self._lock:
            row = self.rows.setdefault(job.idempotency_key, _Row())
            if row.state in ("sent", "dead"):
                return Claim(status="sent" if row.state == "sent" else "dead", attempts=row.attempts)
            if row.state == "pending" and row.next_at > now + DUE_SLACK:
                return Claim(status="later", attempts=row.attempts, lease_until=row.next_at)
            recovered = row.state == "sending"
            if recovered and row.lease_until > now:
                return Claim(status="busy", attempts=row.attempts, lease_until=row.lease_until)
            row.recovered += int(recovered)
            row.attempts += 1
            row.state, row.owner, row.lease_until = "sending", owner, now + lease
            return Claim(status="claimed", attempts=row.attempts, lease_until=row.lease_until, recovered=recovered)

    def seen(self, job: NotificationJob, now: float) -> None:
        with self._lock:
            self.rows.setdefault(job.idempotency_key, _Row())

    def mark_sent(self, key: str, now: float, remote_id: str, retention: float) -> None:
        with self._lock:
            row = self.rows.setdefault(key, _Row())
            row.state, row.sent_at, row.remote_id, row.owner = "sent", now, remote_id, ""

    def mark_retry(self, key: str, owner: str, error: str, next_at: float) -> None:
        with self._lock:
            row = self.rows.get(key)
            if row and row.state == "sending" and row.owner == owner:
                row.state, row.last_error, row.owner, row.next_at = "pending", error, "", next_at

    def mark_dead(self, key: str, now: float, reason: str, retention: float) -> None:
        with self._lock:
            row = self.rows.setdefault(key, _Row())
            if row.state != "sent":
                row.state, row.last_error, row.owner = "dead", reason, ""
                self.dlq.append(key)

    def get(self, key: str) -> OutboxRecord | None:
        row = self.rows.get(key)
        if row is None:
            return None
        return OutboxRecord(key, row.state, row.attempts, row.last_error, row.sent_at, row.remote_id, row.recovered)


@dataclass
class _Bucket:
    ts: float
    #: None until the first `acquire` says how large the bucket is (it starts full).
    tokens: float | None = None
    paused_until: float = 0.0
    waiters: dict[str, float] = field(default_factory=dict)


class InMemoryRateLimiter:
    """Token bucket per destination with FIFO waiters, driven by `clock` (monotonic seconds)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def announce(self, destination: str, member: str, seq: float) -> None:
        with self._lock:
            bucket = self._buckets.setdefault(destination, _Bucket(ts=self._clock()))
            bucket.waiters.setdefault(member, seq)

    def acquire(self, destination: str, member: str, seq: float, rate: float, burst: int) -> float:
        with self._lock:
            now = self._clock()
            bucket = self._buckets.setdefault(destination, _Bucket(ts=now))
            bucket.waiters.setdefault(member, seq)
            if now < bucket.paused_until:
                return bucket.paused_until - now
            tokens = float(burst) if bucket.tokens is None else bucket.tokens
            bucket.tokens = min(burst, tokens + max(0.0, now - bucket.ts) * rate)
            bucket.ts = max(now, bucket.ts)
            order = sorted(bucket.waiters.items(), key=lambda item: (item[1], item[0]))
            rank = [name for name, _ in order].index(member)
            if rank > 0:
                return max((rank + 1 - bucket.tokens) / rate, 0.02)
            if bucket.tokens >= 1:
                bucket.tokens -= 1  # `member` keeps the head until `release`
                return 0.0
            return (1 - bucket.tokens) / rate

    def release(self, destination: str, member: str) -> None:
        with self._lock:
            bucket = self._buckets.get(destination)
            if bucket:
                bucket.waiters.pop(member, None)

    def pause(self, destination: str, seconds: float) -> None:
        with self._lock:
            now = self._clock()
            bucket = self._buckets.setdefault(destination, _Bucket(ts=now))
            until = now + seconds
            if until > bucket.paused_until:
                bucket.paused_until, bucket.tokens, bucket.ts = until, 1.0, until


class InMemoryDestinationState:
    def __init__(self) -> None:
        self._overrides: dict[str, dict[str, str]] = {}
        self._remote: dict[tuple[str, str], str] = {}
        self._progress: dict[tuple[str, str], str] = {}
        self._health: dict[str, Health] = {}
        self._last: dict[tuple[str, str], LastSent] = {}
        self._sending: dict[tuple[str, str], str] = {}
        self._lock = threading.Lock()

    def last_sent(self, destination: str, group_key: str) -> LastSent | None:
        return self._last.get((destination, group_key))

    def save_last_sent(self, destination: str, group_key: str, sent: LastSent, ttl: float) -> None:
        with self._lock:
            current = self._last.get((destination, group_key))
            if current is None or current.created_at < sent.created_at:
                self._last[(destination, group_key)] = sent

    def hold_group(self, destination: str, group_key: str, holder: str, lease: float) -> bool:
        # In one process there is no lease to expire: a holder always releases in a `finally`.
        with self._lock:
            if self._sending.get((destination, group_key), holder) != holder:
                return False
            self._sending[(destination, group_key)] = holder
            return True

    def release_group(self, destination: str, group_key: str, holder: str) -> None:
        with self._lock:
            if self._sending.get((destination, group_key)) == holder:
                del self._sending[(destination, group_key)]

    def overrides(self, destination: str) -> dict[str, str]:
        return dict(self._overrides.get(destination, {}))

    def save_overrides(self, destination: str, updates: dict[str, str]) -> None:
        self._overrides.setdefault(destination, {}).update(updates)

    def remote_id(self, destination: str, group_key: str) -> str | None:
        return self._remote.get((destination, group_key))

    def save_remote_id(self, destination: str, group_key: str, remote_id: str, ttl: float) -> None:
        if remote_id:
            self._remote[(destination, group_key)] = remote_id

    def progress(self, destination: str, key: str) -> str | None:
        return self._progress.get((destination, key))

    def save_progress(self, destination: str, key: str, progress: str, ttl: float) -> None:
        self._progress[(destination, key)] = progress

    def health(self, destination: str) -> Health:
        return self._health.get(destination, Health(healthy=True))

    def set_health(self, destination: str, health: Health) -> bool:
        changed = self.health(destination).healthy != health.healthy
        self._health[destination] = replace(health)
        return changed
