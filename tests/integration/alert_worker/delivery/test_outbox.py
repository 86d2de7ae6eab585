"""The Redis outbox's state machine and the sweep that finds notifications whose task was lost."""

from __future__ import annotations

import time

import pytest

from alert_worker.delivery import RedisOutbox
from tests.fixtures.standins.jobs import make_job

pytestmark = pytest.mark.integration


def test_state_machine_and_dead_letters(ns, redis_client) -> None:
    outbox = RedisOutbox(redis_client)
    job = make_job(key=f"{ns}-a")
    now = time.time()
    first = outbox.claim(job, "w1", now, lease=30)
    assert (first.status, first.attempts) == ("claimed", 1)
    assert outbox.claim(job, "w2", now + 1, lease=30).status == "busy"
    outbox.mark_retry(job.idempotency_key, "w2", "not the owner", now + 5)  # ignored: w2 does not hold it
    assert outbox.state(job.idempotency_key) == "sending"
    outbox.mark_retry(job.idempotency_key, "w1", "HTTP 502", now + 5)
    record = outbox.get(job.idempotency_key)
    assert record is not None
    assert record.last_error == "HTTP 502"
    second = outbox.claim(job, "w2", now + 6, lease=30)
    assert (second.status, second.attempts, second.recovered) == ("claimed", 2, False)
    outbox.mark_dead(job.idempotency_key, now + 7, "permanent: HTTP 403", retention=60)
    assert outbox.claim(job, "w3", now + 8, lease=30).status == "dead"
    assert job.idempotency_key in [r.key for r in outbox.dead_letters(1000)]
    assert 0 < redis_client.ttl(f"heron:outbox:{job.idempotency_key}") <= 60


def test_sent_is_final(ns, redis_client) -> None:
    outbox = RedisOutbox(redis_client)
    job = make_job(key=f"{ns}-b")
    outbox.claim(job, "w1", time.time(), lease=30)
    outbox.mark_sent(job.idempotency_key, time.time(), "m-1", retention=60)
    outbox.mark_dead(job.idempotency_key, time.time(), "late failure report", retention=60)
    record = outbox.get(job.idempotency_key)
    assert record is not None
    assert (record.state, record.remote_id) == ("sent", "m-1")
    assert outbox.claim(job, "w2", time.time() + 100, lease=30).status == "sent"


def test_stuck_finds_lost_tasks_only(ns, redis_client) -> None:
    outbox = RedisOutbox(redis_client)
    now = time.time()
    crashed, waiting, fresh, done = (make_job(key=f"{ns}-{name}") for name in ("crashed", "waiting", "fresh", "done"))
    outbox.claim(crashed, "w1", now - 1000, lease=10)  # its worker died 1000 s ago
    outbox.claim(waiting, "w1", now - 1000, lease=10)
    outbox.mark_retry(waiting.idempotency_key, "w1", "HTTP 500", now - 950)  # retry was due 950 s ago
    outbox.claim(fresh, "w1", now, lease=10)  # being sent right now
    outbox.claim(done, "w1", now - 1000, lease=10)
    outbox.mark_sent(done.idempotency_key, now - 999, "", retention=60)
    found = {j.idempotency_key for j in outbox.stuck(now, grace=900) if j.idempotency_key.startswith(ns)}
    assert found == {crashed.idempotency_key, waiting.idempotency_key}
    assert outbox.stuck(now, grace=900, limit=1)  # the limit bounds one sweep


def test_a_notification_whose_task_keeps_running_is_not_stuck_and_one_whose_task_vanished_is(ns, redis_client) -> None:
    """Waiting for its turn (another notice of its group is being sent) leaves a mark, even before any claim."""
    outbox = RedisOutbox(redis_client)
    now = time.time()
    waiting, vanished = (make_job(key=f"{ns}-{name}") for name in ("waiting", "vanished"))
    outbox.seen(waiting, now - 100)
    outbox.seen(waiting, now - 5)  # its task ran again 5 s ago
    outbox.seen(vanished, now - 100)  # its task message went down with a killed worker
    found = {j.idempotency_key for j in outbox.stuck(now, grace=45) if j.idempotency_key.startswith(ns)}
    assert found == {vanished.idempotency_key}
    assert outbox.get(vanished.idempotency_key).state == "pending"
