from __future__ import annotations

import random
from datetime import timedelta

import pytest

from alert_worker.channels import DestinationConfigError
from alert_worker.delivery import DeliveryPolicy, InMemoryRateLimiter, backoff_delay, resolve_policy
from alert_worker.delivery.queueing import queue_job
from tests.fixtures.standins.jobs import T0, make_job


@pytest.mark.parametrize(
    ("attempt", "low", "high"),
    [(1, 1.0, 2.0), (2, 2.0, 4.0), (3, 4.0, 8.0), (8, 128.0, 256.0), (9, 150.0, 300.0), (30, 150.0, 300.0)],
)
def test_backoff_is_exponential_jittered_and_capped(attempt: int, low: float, high: float) -> None:
    policy = DeliveryPolicy(backoff_base=2, backoff_cap=300)
    rng = random.Random(1)
    delays = [backoff_delay(attempt, policy, rng) for _ in range(200)]
    assert low <= min(delays)
    assert max(delays) <= high
    assert len(set(delays)) > 100  # jitter spreads workers apart


def test_policy_from_env_and_bad_values() -> None:
    assert resolve_policy({"HERON_ALERTS_DELIVERY_MAX_AGE": "600"}).max_age == 600
    assert resolve_policy({}, lease=5).lease == 5
    with pytest.raises(DestinationConfigError, match="HERON_ALERTS_DELIVERY_LEASE='soon'"):
        resolve_policy({"HERON_ALERTS_DELIVERY_LEASE": "soon"})
    with pytest.raises(DestinationConfigError, match=">= 1"):
        resolve_policy({"HERON_ALERTS_DELIVERY_MAX_AGE": "-3"})


class Clock:
    t = 0.0

    def __call__(self) -> float:
        return self.t


def test_limiter_grants_in_order_and_pauses() -> None:
    clock = Clock()
    limiter = InMemoryRateLimiter(clock)
    assert limiter.acquire("d", "a", 1, rate=1, burst=1) == 0
    assert limiter.acquire("d", "c", 3, rate=1, burst=1) > 0
    assert limiter.acquire("d", "b", 2, rate=1, burst=1) > 0
    limiter.release("d", "a")  # a's send is over
    assert limiter.acquire("d", "b", 2, rate=1, burst=1) == pytest.approx(1.0)
    clock.t = 1.0
    assert limiter.acquire("d", "c", 3, rate=1, burst=1) > 0  # b is older and still waiting
    assert limiter.acquire("d", "b", 2, rate=1, burst=1) == 0
    limiter.release("d", "b")
    limiter.pause("d", 5)
    assert limiter.acquire("d", "c", 3, rate=1, burst=1) == pytest.approx(5)
    clock.t = 6.0
    assert limiter.acquire("d", "c", 3, rate=1, burst=1) == 0


def test_announced_job_holds_its_place_before_its_worker_asks() -> None:
    limiter = InMemoryRateLimiter(Clock())
    limiter.announce("d", "old", 1)
    assert limiter.acquire("d", "new", 2, rate=1, burst=5) > 0  # tokens are there, but "old" is first
    assert limiter.acquire("d", "old", 1, rate=1, burst=5) == 0
    assert limiter.acquire("d", "new", 2, rate=1, burst=5) > 0  # "old" is still sending
    limiter.release("d", "old")
    assert limiter.acquire("d", "new", 2, rate=1, burst=5) == 0  # the bucket started full (burst 5)


def test_queue_job_gives_the_place_back_when_queueing_fails() -> None:
    limiter = InMemoryRateLimiter(Clock())

    def broker_down(job: object) -> None:
        raise ConnectionError("broker unreachable")

    with pytest.raises(ConnectionError):
        queue_job(make_job(key="lost", created_at=T0), limiter, broker_down)
    queued: list[str] = []
    later = T0 + timedelta(seconds=1)
    queue_job(make_job(key="next", created_at=later), limiter, lambda j: queued.append(j.idempotency_key))
    assert queued == ["next"]
    assert limiter.acquire("tg", "next", later.timestamp(), rate=1, burst=1) == 0
