"""redis-py clients for a `RedisTarget`, and the wait that makes a write survive a Sentinel failover.

Under Sentinel a client asks the sentinels for the primary before each new connection; when the primary
dies its connections fail, redis-py retries with backoff, and the retry connects to the replica the
sentinels promoted. Replication is asynchronous, so a write the old primary acknowledged but had not yet
sent to its replica is lost at promotion. `ReplicaWait` closes that window for the writes that matter
(alert state, the engine's outbox, a notification marked sent): Redis ``WAIT`` returns once that many
replicas hold every write before it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry
from redis.sentinel import Sentinel

from alert_worker.redis_url import RedisTarget, parse_redis_url

log = logging.getLogger(__name__)

#: Retries of a Sentinel-managed client: a call that finds no primary tries 11 times, 0.4, 0.8, 1.6,
#: then 2 s apart, about 17 s in all: longer than a failover with Heron's sentinel settings (down-after
#: 5 s, then the election), and a bounded wait when Redis is gone. No jitter: the total must not fall
#: short by chance, and the sentinels, not the clients, pace the switch.
FAILOVER_RETRY = Retry(ExponentialBackoff(cap=2.0, base=0.2), retries=10)
MARKER_KEY = "heron:alerts:replicated"


def connect(target: RedisTarget | str, **kwargs: Any) -> redis.Redis:
    """A client of the primary: `redis.Redis.from_url`, or `Sentinel.master_for` under Sentinel."""
    if isinstance(target, str):
        target = parse_redis_url(target)
    if not target.is_sentinel:
        return redis.Redis.from_url(target.url, **kwargs)
    timeouts = {k: kwargs[k] for k in ("socket_timeout", "socket_connect_timeout") if k in kwargs}
    sentinel = Sentinel(  # type: ignore[no-untyped-call]  # redis-py leaves Sentinel unannotated
        list(target.sentinels),
        sentinel_kwargs={"socket_timeout": 2.0, "socket_connect_timeout": 2.0, **timeouts},
    )
    auth = {"username": target.username, "password": target.password}
    options = {"retry": FAILOVER_RETRY, **{k: v for k, v in auth.items() if v is not None}, **kwargs}
    client: redis.Redis = sentinel.master_for(  # type: ignore[no-untyped-call]  # unannotated in redis-py
        target.master_name, db=target.db, **options
    )
    return client


class ReplicaWait:
    """After a write that matters, wait until `replicas` replicas hold it (at most `timeout_s`).

    ``WAIT`` counts the writes of the connection it runs on, and a pool may hand out another one, so a
    marker write goes first on the same connection (one pipeline); replication is one ordered stream,
    so a replica holding the marker holds every earlier write too.

    A shortfall (no replica connected) is logged and the write stands: alerting goes on with one Redis,
    as it would without Sentinel. After a shortfall the next writes do not wait for `backoff_s`, so a
    lost replica costs one timeout, not one per write.
    """

    def __init__(
        self, replicas: int, timeout_s: float, *, backoff_s: float = 30.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.replicas, self.timeout_s, self.backoff_s = replicas, timeout_s, backoff_s
        self._clock = clock
        self._skip_until = 0.0
        self.shortfalls = 0

    def __call__(self, client: redis.Redis) -> bool:
        """True when the replicas acknowledged; False after a shortfall (or when not waiting at all)."""
        if self.replicas <= 0 or self._clock() < self._skip_until:
            return False
        with client.pipeline(transaction=False) as pipe:
            pipe.incr(MARKER_KEY)
            pipe.wait(self.replicas, max(1, int(self.timeout_s * 1000)))
            _, acked = pipe.execute()
        if int(acked) >= self.replicas:
            return True
        self.shortfalls += 1
        self._skip_until = self._clock() + self.backoff_s
        log.warning(
            "Redis: %s of %s replicas acknowledged a write within %.1fs; going on without waiting for %.0fs "
            "(a failover now may lose writes since the replica fell behind)",
            acked,
            self.replicas,
            self.timeout_s,
            self.backoff_s,
        )
        return False


NO_WAIT = ReplicaWait(0, 0.0)
