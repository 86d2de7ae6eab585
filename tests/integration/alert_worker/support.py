"""Helpers for the alert engine's integration tests: a scrape target, a private Prometheus, queue readers."""

from __future__ import annotations

import base64
import json

import redis

from tests.fixtures.alerting import MetricsTarget, PrivatePrometheus

__all__ = ["MetricsTarget", "PrivatePrometheus", "queued_jobs"]


def queued_jobs(client: redis.Redis, queue: str) -> list[dict]:
    """Notification jobs waiting in a Celery queue on the Redis broker, oldest first.

    Beat's delivery sweeps share the queue; they carry no job and are skipped.
    """
    jobs = []
    for raw in reversed(client.lrange(queue, 0, -1)):
        message = json.loads(raw)
        if message["headers"]["task"] != "heron.deliver":
            continue
        body = (
            base64.b64decode(message["body"])
            if message["properties"].get("body_encoding") == "base64"
            else message["body"]
        )
        args, _kwargs, _embed = json.loads(body)
        jobs.append(args[0])
    return jobs
