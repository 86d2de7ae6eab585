"""The shared rate limit on real Redis: announced order, lost waiters skipped, places taken back."""

from __future__ import annotations

import pytest

from alert_worker.delivery import RedisRateLimiter
from tests.helpers import wait_for

pytestmark = pytest.mark.integration


def test_a_newer_job_waits_for_an_announced_older_one(ns, redis_client) -> None:
    limiter = RedisRateLimiter(redis_client)
    dest = f"rl-{ns}"
    limiter.announce(dest, "old", 1.0)
    limiter.announce(dest, "new", 2.0)
    assert limiter.acquire(dest, "new", 2.0, rate=1, burst=5) > 0  # tokens are there, "old" is first
    assert limiter.acquire(dest, "old", 1.0, rate=1, burst=5) == 0
    assert limiter.acquire(dest, "new", 2.0, rate=1, burst=5) > 0  # "old" is in flight
    limiter.release(dest, "old")
    assert limiter.acquire(dest, "new", 2.0, rate=1, burst=5) == 0


def test_a_lost_waiter_is_skipped_and_takes_its_place_back_when_it_returns(ns, redis_client) -> None:
    limiter = RedisRateLimiter(redis_client, stale_after=0.5)
    dest = f"rl-{ns}"
    limiter.announce(dest, "lost", 1.0)
    limiter.announce(dest, "later", 3.0)
    # Nobody polls for "lost" (its task vanished): "next" gets through once "lost" went quiet.
    wait_for(lambda: limiter.acquire(dest, "next", 2.0, rate=100, burst=5) == 0, timeout=10, what="skip a lost job")
    limiter.release(dest, "next")
    # "lost" comes back (its task was redelivered) and is ahead of "later" again.
    limiter.acquire(dest, "lost", 1.0, rate=100, burst=5)
    assert limiter.acquire(dest, "later", 3.0, rate=100, burst=5) > 0
    wait_for(lambda: limiter.acquire(dest, "lost", 1.0, rate=100, burst=5) == 0, timeout=10, what="the returned job")
    limiter.release(dest, "lost")
    assert limiter.acquire(dest, "later", 3.0, rate=100, burst=5) == 0


def test_release_gives_the_place_up(ns, redis_client) -> None:
    limiter = RedisRateLimiter(redis_client)
    dest = f"rl-{ns}"
    limiter.announce(dest, "gone", 1.0)
    limiter.announce(dest, "new", 2.0)
    limiter.release(dest, "gone")
    assert limiter.acquire(dest, "new", 2.0, rate=1, burst=1) == 0
