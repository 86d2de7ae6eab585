"""Worker processes killed mid-send, and a burst to one chat, against the Telegram stand-in and real Redis."""

from __future__ import annotations

import itertools
import threading
from collections import Counter
from datetime import timedelta

import pytest

from alert_worker.delivery import RedisOutbox
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


def _counts(tg: TelegramStandIn, ns: str) -> Counter[str]:
    return Counter(keys_in(tg.texts(), ns))


def test_killed_workers_deliver_every_notification_exactly_once(ns, tmp_path, redis_client, workers_factory) -> None:
    jobs = _jobs(ns, f"tg-{ns}", 24)
    with TelegramStandIn(hold=0.2) as tg:
        dest = {"type": "telegram", "token": TOKEN, "chat_id": "-100", "api_url": tg.url, "rate_per_second": 1000}
        dest["burst"] = 1000
        path = write_destinations(tmp_path / "dest.yaml", {f"tg-{ns}": dest})
        workers = workers_factory(f"heron:test:{ns}:queue", path, HERON_ALERTS_DELIVERY_LEASE="1")
        workers.start("w1")
        workers.wait_ready(1)
        held = itertools.count(1)
        killed = threading.Event()

        def interrupt() -> None:
            # Every third request: the worker dies while the stand-in holds its message, before it is
            # accepted (killed here, in the stand-in's thread, so the kill cannot arrive late).
            if next(held) % 3 == 0 and workers.kills < 10:
                workers.kill("w1")
                killed.set()

        tg.on_hold = interrupt
        workers.enqueue(jobs)
        outbox = RedisOutbox(redis_client)

        def all_sent() -> bool:
            if killed.is_set():
                killed.clear()
                workers.redeliver("w1")
                workers.start("w1")
            return all(outbox.state(j.idempotency_key) == "sent" for j in jobs)

        wait_for(all_sent, timeout=120, what="every notification to be marked sent", interval=0.02)
        counts = _counts(tg, ns)
    assert workers.kills >= 5
    assert tg.dropped_by_client >= 5  # the kills really happened while messages were in flight
    assert sorted(counts) == sorted(j.idempotency_key for j in jobs)
    assert set(counts.values()) == {1}, {k: v for k, v in counts.items() if v != 1}
    records = [outbox.get(j.idempotency_key) for j in jobs]
    recovered = sum(r.recovered for r in records if r is not None)
    assert recovered >= 5  # the interrupted sends were taken over after their lease expired


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
