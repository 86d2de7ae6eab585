from __future__ import annotations

import json
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import yaml

from alert_worker.delivery import RedisRateLimiter
from alert_worker.delivery.queueing import queue_job
from alert_worker.models import NotificationJob, job_to_dict
from tests.fixtures.stack import clean_env
from tests.helpers import wait_for

ROOT = Path(__file__).resolve().parents[4]


@pytest.fixture(scope="session")
def redis_url(stack) -> str:
    return str(stack.redis_url)


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


@pytest.fixture
def ns() -> str:
    """A unique suffix so tests never share destinations, queues or keys."""
    return uuid.uuid4().hex[:10]


def write_destinations(path: Path, destinations: dict[str, dict[str, object]]) -> Path:
    path.write_text(yaml.safe_dump({"destinations": destinations}))
    return path


def keys_in(texts: list[str], ns: str) -> list[str]:
    """The notification keys (``<ns>-<number>``) in the messages, in the order they were received."""
    return [key for text in texts for key in re.findall(rf"{re.escape(ns)}-\d+", text)]


class Workers:
    """Worker processes running `worker_loop`, started and stopped by tests."""

    def __init__(self, redis_url: str, queue: str, destinations: Path, env: dict[str, str], log_dir: Path) -> None:
        self.redis_url, self.queue, self.destinations, self.env = redis_url, queue, destinations, env
        self.log_dir = log_dir
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self._client = redis.Redis.from_url(redis_url)

    def start(self, name: str) -> subprocess.Popen[bytes]:
        cmd = [sys.executable, "-m", "tests.integration.alert_worker.delivery.worker_loop"]
        cmd += [self.redis_url, self.queue, str(self.destinations), name]
        with (self.log_dir / f"{name}.log").open("ab") as log:
            proc = subprocess.Popen(cmd, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        self.procs[name] = proc
        return proc

    def wait_ready(self, count: int) -> None:
        wait_for(lambda: self._client.llen(f"{self.queue}:ready") >= count, timeout=30, what="workers to start")

    def enqueue(self, jobs: list[NotificationJob]) -> None:
        """Queue `jobs` the way the alert engine does (announced first), one list push each."""
        limiter = RedisRateLimiter(self._client)
        for job in jobs:
            queue_job(job, limiter, lambda j: self._client.rpush(self.queue, json.dumps(job_to_dict(j))))

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        self._client.close()


@pytest.fixture
def workers_factory(redis_url: str, tmp_path: Path) -> Iterator[object]:
    started: list[Workers] = []

    def make(queue: str, destinations: Path, **env: str) -> Workers:
        workers = Workers(redis_url, queue, destinations, clean_env(env), tmp_path)
        started.append(workers)
        return workers

    yield make
    for workers in started:
        workers.stop()
