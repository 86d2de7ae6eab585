"""Durable outbox in Redis: one hash per idempotency key with state pending/sending/sent/dead.

A worker *claims* a key (state sending, with a lease) before calling the channel and marks it
sent right after. Claims are atomic (Lua), so two workers never send the same key at once and a
sent key is never sent again. A key waiting for its retry is not claimed before it is due
("later"), so an early or duplicate task copy cannot cut a backoff short.

The residual window: a worker that dies after the remote accepted the message but before
`mark_sent` leaves the key in `sending`; once its lease expires the next claim sends it again
(at-least-once in that window, counted in ``recovered``). Under Redis Sentinel `mark_sent` waits for a
replica (`ReplicaWait`), so a failover does not forget that a notification went out.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Literal, Protocol

import redis

from alert_worker.models import NotificationJob, job_from_dict, job_to_dict
from alert_worker.redis_client import NO_WAIT, ReplicaWait

PREFIX = "heron:outbox:"
DLQ_KEY = "heron:dlq"
ClaimStatus = Literal["claimed", "sent", "dead", "busy", "later"]
_CLAIM_STATUSES: dict[str, ClaimStatus] = {
    "claimed": "claimed",
    "sent": "sent",
    "dead": "dead",
    "busy": "busy",
    "later": "later",
}
#: An attempt this close to its due time (clock skew between workers) is not refused as early.
DUE_SLACK = 1.0


@dataclass(frozen=True)
class Claim:
    """The answer to a claim; `lease_until` is the due time when status is "later"."""

    status: ClaimStatus
    attempts: int = 0
    lease_until: float = 0.0
    recovered: bool = False


@dataclass(frozen=True)
class OutboxRecord:
    key: str
    state: str
    attempts: int
    last_error: str
    sent_at: float | None
    remote_id: str
    recovered: int


class Outbox(Protocol):
    def state(self, key: str) -> str | None: ...
    def claim(self, job: NotificationJob, owner: str, now: float, lease: float) -> Claim: ...
    def mark_sent(self, key: str, now: float, remote_id: str, retention: float) -> None: ...
    def mark_retry(self, key: str, owner: str, error: str, next_at: float) -> None: ...
    def mark_dead(self, key: str, now: float, reason: str, retention: float) -> None: ...
    def get(self, key: str) -> OutboxRecord | None: ...
    def seen(self, job: NotificationJob, now: float) -> None:
        """Record that a task for `job` is alive now (creating its record if it has none yet)."""


# A task that runs for a notification, even one that only waits (busy, rate limit), leaves this mark,
# so the sweep can tell a waiting notification from one whose task message was lost.
_SEEN = """
if not redis.call('HGET', KEYS[1], 'state') then
  redis.call('HSET', KEYS[1], 'state', 'pending', 'attempts', 0, 'job', ARGV[2], 'destination', ARGV[3],
             'first_seen', ARGV[1], 'recovered', 0)
end
redis.call('HSET', KEYS[1], 'last_seen', ARGV[1])
"""

_CLAIM = """
local k = KEYS[1]
local now = tonumber(ARGV[1])
local st = redis.call('HGET', k, 'state')
if not st then
  redis.call('HSET', k, 'state', 'pending', 'attempts', 0, 'job', ARGV[4], 'destination', ARGV[5],
             'first_seen', ARGV[1], 'recovered', 0)
  st = 'pending'
end
local attempts = redis.call('HGET', k, 'attempts')
if st == 'sent' or st == 'dead' then return {st, attempts, '0', 0} end
local due = tonumber(redis.call('HGET', k, 'next_attempt_at') or '0')
if st == 'pending' and due > now + tonumber(ARGV[6]) then return {'later', attempts, tostring(due), 0} end
local recovered = 0
if st == 'sending' then
  local lease_until = redis.call('HGET', k, 'lease_until') or '0'
  if tonumber(lease_until) > now then return {'busy', attempts, lease_until, 0} end
  recovered = 1
  redis.call('HINCRBY', k, 'recovered', 1)
end
attempts = redis.call('HINCRBY', k, 'attempts', 1)
local lease_until = tostring(now + tonumber(ARGV[2]))
redis.call('HSET', k, 'state', 'sending', 'owner', ARGV[3], 'lease_until', lease_until, 'claimed_at', ARGV[1])
return {'claimed', attempts, lease_until, recovered}
"""
_SENT = """
redis.call('HSET', KEYS[1], 'state', 'sent', 'sent_at', ARGV[1], 'remote_id', ARGV[2])
redis.call('HDEL', KEYS[1], 'owner', 'lease_until')
redis.call('EXPIRE', KEYS[1], ARGV[3])
"""
_RETRY = """
if redis.call('HGET', KEYS[1], 'state') ~= 'sending' or redis.call('HGET', KEYS[1], 'owner') ~= ARGV[1] then
  return 0
end
redis.call('HSET', KEYS[1], 'state', 'pending', 'last_error', ARGV[2], 'next_attempt_at', ARGV[3])
redis.call('HDEL', KEYS[1], 'owner', 'lease_until')
return 1
"""
_DEAD = """
if redis.call('HGET', KEYS[1], 'state') == 'sent' then return 0 end
redis.call('HSET', KEYS[1], 'state', 'dead', 'last_error', ARGV[2], 'dead_at', ARGV[1])
redis.call('HDEL', KEYS[1], 'owner', 'lease_until')
redis.call('EXPIRE', KEYS[1], ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[1], KEYS[1])
return 1
"""


def _s(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class RedisOutbox:
    """`Outbox` on Redis; safe across processes and hosts."""

    def __init__(self, client: redis.Redis, *, replica_wait: ReplicaWait = NO_WAIT) -> None:
        self._r = client
        self._replicated = replica_wait
        self._claim = client.register_script(_CLAIM)
        self._sent = client.register_script(_SENT)
        self._retry = client.register_script(_RETRY)
        self._dead = client.register_script(_DEAD)
        self._seen = client.register_script(_SEEN)

    def seen(self, job: NotificationJob, now: float) -> None:
        body = json.dumps(job_to_dict(job))
        self._seen(keys=[PREFIX + job.idempotency_key], args=[repr(now), body, job.destination])

    def state(self, key: str) -> str | None:
        value = self._r.hget(PREFIX + key, "state")
        return _s(value) if value is not None else None

    def claim(self, job: NotificationJob, owner: str, now: float, lease: float) -> Claim:
        body = json.dumps(job_to_dict(job))
        args = [repr(now), repr(lease), owner, body, job.destination, repr(DUE_SLACK)]
        status, attempts, lease_until, recovered = self._claim(keys=[PREFIX + job.idempotency_key], args=args)
        return Claim(
            status=_CLAIM_STATUSES[_s(status)],
            attempts=int(attempts),
            lease_until=float(_s(lease_until)),
            recovered=bool(int(recovered)),
        )

    def mark_sent(self, key: str, now: float, remote_id: str, retention: float) -> None:
        self._sent(keys=[PREFIX + key], args=[repr(now), remote_id, int(retention)])
        self._replicated(self._r)

    def mark_retry(self, key: str, owner: str, error: str, next_at: float) -> None:
        self._retry(keys=[PREFIX + key], args=[owner, error, repr(next_at)])

    def mark_dead(self, key: str, now: float, reason: str, retention: float) -> None:
        self._dead(keys=[PREFIX + key, DLQ_KEY], args=[repr(now), reason, int(retention)])

    def get(self, key: str) -> OutboxRecord | None:
        raw = {_s(k): _s(v) for k, v in self._r.hgetall(PREFIX + key).items()}
        if not raw:
            return None
        return OutboxRecord(
            key=key,
            state=raw["state"],
            attempts=int(raw.get("attempts", 0)),
            last_error=raw.get("last_error", ""),
            sent_at=float(raw["sent_at"]) if "sent_at" in raw else None,
            remote_id=raw.get("remote_id", ""),
            recovered=int(raw.get("recovered", 0)),
        )

    def stuck(self, now: float, grace: float, limit: int = 1000) -> list[NotificationJob]:
        """Jobs still pending or sending `grace` seconds after they were due and after a task last ran for
        them: their task message was lost.

        Re-enqueuing them is safe: the claim still lets at most one send happen.
        """
        found: list[NotificationJob] = []
        for key in self._r.scan_iter(match=PREFIX + "*", count=500):
            fields = ["state", "lease_until", "next_attempt_at", "first_seen", "job", "last_seen"]
            state, lease_until, next_at, first_seen, body, last_seen = self._r.hmget(key, fields)
            if state is None or body is None or _s(state) not in ("pending", "sending"):
                continue
            due = float(_s(lease_until if _s(state) == "sending" else next_at or first_seen or 0))
            due = max(due, float(_s(last_seen or 0)))
            if due + grace < now:
                found.append(job_from_dict(json.loads(body)))
                if len(found) >= limit:
                    break
        return found

    def dead_letters(self, limit: int = 100) -> list[OutboxRecord]:
        """The most recent dead-lettered notifications, newest first."""
        keys = self._r.zrevrange(DLQ_KEY, 0, limit - 1)
        records = (self.get(_s(k)[len(PREFIX) :]) for k in keys)
        return [r for r in records if r is not None]
