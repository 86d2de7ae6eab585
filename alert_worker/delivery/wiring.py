"""Assemble a `DeliveryService` from destination config and a Redis client (what the worker runs)."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import redis

from alert_worker.channels.config import Destinations
from alert_worker.channels.registry import build_channels
from alert_worker.delivery import metrics
from alert_worker.delivery.outbox import RedisOutbox
from alert_worker.delivery.policy import DeliveryPolicy, resolve_policy
from alert_worker.delivery.ratelimit import RedisRateLimiter
from alert_worker.delivery.service import DeliveryService, Rate
from alert_worker.delivery.state import RedisDestinationState
from alert_worker.models import NotificationJob
from alert_worker.redis_client import NO_WAIT, ReplicaWait


def build_service(
    config: Destinations,
    client: redis.Redis,
    *,
    policy: DeliveryPolicy | None = None,
    enqueue: Callable[[NotificationJob], None] | None = None,
    transport: httpx.BaseTransport | None = None,
    health_gauge: bool = False,
    replica_wait: ReplicaWait = NO_WAIT,
) -> DeliveryService:
    """A service on Redis stores; `enqueue` routes meta-notifications (inline when None); `replica_wait`
    makes a notification's sent mark wait for a replica (Sentinel)."""
    state = RedisDestinationState(client)
    channels = build_channels(config, transport=transport)
    rates = {name: Rate(dest.rate_per_second, dest.burst) for name, dest in config.destinations.items()}
    if health_gauge:
        kinds = {name: dest.type for name, dest in config.destinations.items()}
        metrics.register_health_gauge(lambda: [(n, k, state.health(n).healthy) for n, k in kinds.items()])
    return DeliveryService(
        channels=channels,
        outbox=RedisOutbox(client, replica_wait=replica_wait),
        limiter=RedisRateLimiter(client),
        state=state,
        rates=rates,
        policy=policy or resolve_policy(),
        fallback=config.fallback,
        enqueue=enqueue,
    )
