"""A minimal worker process for the burst test and the delivery benchmark: a Redis list queue feeding
`DeliveryService`, without Celery's overhead (crash tests run the real Celery worker instead).

A job moves from the queue to a per-worker processing list and leaves it only after delivery finished.
Run: ``python -m tests.integration.alert_worker.delivery.worker_loop REDIS_URL QUEUE DESTINATIONS_FILE NAME``.
"""

from __future__ import annotations

import json
import sys
import time

import redis

from alert_worker.channels.config import resolve_destinations
from alert_worker.delivery.wiring import build_service
from alert_worker.models import job_from_dict


def processing_list(queue: str, name: str) -> str:
    return f"{queue}:processing:{name}"


def main(argv: list[str] | None = None) -> int:
    redis_url, queue, destinations, name = (argv or sys.argv[1:])[:4]
    client = redis.Redis.from_url(redis_url)
    service = build_service(resolve_destinations(destinations), client)
    mine = processing_list(queue, name)
    client.rpush(f"{queue}:ready", name)
    while True:
        raw = client.blmove(queue, mine, 1, "LEFT", "RIGHT")
        if raw is None:
            continue
        job = job_from_dict(json.loads(raw))
        outcome = service.deliver(job)
        while outcome.status in ("retry", "busy"):
            time.sleep(min(outcome.retry_in, 2.0))
            outcome = service.deliver(job)
        client.lrem(mine, 1, raw.decode() if isinstance(raw, bytes) else raw)


if __name__ == "__main__":
    raise SystemExit(main())
