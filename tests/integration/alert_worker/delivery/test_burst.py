"""A burst to one chat from three workers, against the Telegram stand-in and real Redis.

Workers killed mid-send are tested on real Celery: test_celery_sigkill.py (one worker, killed two ways) and
tests/integration/alert_worker/test_shards.py (two delivery workers beside three evaluation shards).
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.fixtures.standins import TelegramStandIn
from tests.fixtures.standins.jobs import T0, make_alert, make_job
from tests.helpers import wait_for
from tests.integration.alert_worker.delivery.conftest import keys_in, write_destinations

TOKEN = "123456:TEST-token-abcdefghijklmnopqrstu"
pytestmark = pytest.mark.integration


def _jobs(ns: str, destination: str, count: int):
    start = T0.replace(year=2099)  # far from any max age, unique per test through the keys
    return [
        make_job(
            destination,
            key=f"{ns}-{i:03d}",
            created_at=start + timedelta(milliseconds=i),
            alerts=(make_alert(summary=f"notification {ns}-{i:03d}", starts_at=start),),
        )
        for i in range(count)
    ]


def _burst(ns: str, tmp_path, workers_factory, count: int, rate: float, burst: int = 1):
    """`count` notifications queued at once for one chat that refuses messages closer than 150 ms
    (429 with retry_after, as Telegram does past its limit), sent by three workers at `rate`."""
    jobs = _jobs(ns, f"tg-{ns}", count)
    with TelegramStandIn(min_interval=0.15) as tg:
        dest = {"type": "telegram", "token": TOKEN, "chat_id": "-100", "api_url": tg.url, "rate_per_second": rate}
        dest["burst"] = burst
        path = write_destinations(tmp_path / "dest.yaml", {f"tg-{ns}": dest})
        workers = workers_factory(f"heron:test:{ns}:queue", path)
        for name in ("w1", "w2", "w3"):
            workers.start(name)
        workers.wait_ready(3)
        workers.enqueue(jobs)
        wait_for(lambda: len(tg.accepted) >= count, timeout=90, what=f"{count} messages at the stand-in", interval=0.2)
    order = keys_in(tg.texts(), ns)
    return tg, order, [j.idempotency_key for j in jobs]


def test_burst_to_one_chat_is_delivered_in_order_at_the_rate(ns, tmp_path, redis_client, workers_factory) -> None:
    tg, order, expected = _burst(ns, tmp_path, workers_factory, 50, rate=4)
    assert order == expected
    assert tg.rate_violations == 0
    assert tg.requests == 50  # no request was refused and retried


def test_chat_answering_429_gets_every_message_once_in_order(ns, tmp_path, redis_client, workers_factory) -> None:
    # Configured faster (20/s, bursts of 3) than the chat accepts: the chat answers 429.
    tg, order, expected = _burst(ns, tmp_path, workers_factory, 8, rate=20, burst=3)
    assert tg.rate_violations >= 2  # the chat really refused messages
    assert order == expected  # a refused message went out before the next one
