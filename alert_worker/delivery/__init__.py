"""Delivery of notification jobs: durable outbox, shared rate limit, retries, dead letters, health."""

from alert_worker.delivery.memory import InMemoryDestinationState, InMemoryOutbox, InMemoryRateLimiter
from alert_worker.delivery.outbox import Claim, Outbox, OutboxRecord, RedisOutbox
from alert_worker.delivery.policy import DeliveryPolicy, backoff_delay, resolve_policy
from alert_worker.delivery.ratelimit import RateLimiter, RedisRateLimiter
from alert_worker.delivery.service import Clock, DeliveryService, Outcome, Rate, SystemClock, unhealthy_notice
from alert_worker.delivery.state import DestinationState, Health, RedisDestinationState

__all__ = [
    "Claim",
    "Clock",
    "DeliveryPolicy",
    "DeliveryService",
    "DestinationState",
    "Health",
    "InMemoryDestinationState",
    "InMemoryOutbox",
    "InMemoryRateLimiter",
    "Outbox",
    "OutboxRecord",
    "Outcome",
    "Rate",
    "RateLimiter",
    "RedisDestinationState",
    "RedisOutbox",
    "RedisRateLimiter",
    "SystemClock",
    "backoff_delay",
    "resolve_policy",
    "unhealthy_notice",
]
