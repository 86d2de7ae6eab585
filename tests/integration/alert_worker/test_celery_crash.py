"""Real Celery worker and beat on the real broker: SIGKILL the worker repeatedly; every transition is
notified exactly once (no loss, no double) and the jobs land in the notify queue for delivery."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import redis

from tests.fixtures.stack import clean_env
from tests.helpers import wait_for

from .support import queued_jobs

pytestmark = pytest.mark.integration

PERIOD = 40  # the probe fires during the first half of every 40 s period
BIN = Path(sys.executable).parent / "alert-worker"


def _start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    with log.open("w") as out:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            [str(BIN), *args], env=env, cwd=log.parent, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def _kill(proc: subprocess.Popen, sig: int) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, sig)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def test_sigkilled_worker_loses_and_doubles_nothing(stack, tmp_path):
    uid = uuid.uuid4().hex[:8]
    rules = tmp_path / "crash.rules.yml"
    rules.write_text(
        f"""
groups:
  - name: crash-{uid}
    interval: 2s
    rules:
      - alert: CrashProbe
        expr: label_replace(vector(time()) % {PERIOD} < {PERIOD // 2}, "host_name", "crash-{uid}", "", "")
        annotations:
          # a synthetic series has no target that could stop reporting
          heron_no_data: resolve
"""
    )
    routing = tmp_path / "routing.yaml"
    routing.write_text("route:\n  group_wait: 0s\n  group_interval: 0s\n  cooldown: 0s\n  repeat_interval: 1h\n")
    redis_url = stack.redis_url.rsplit("/", 1)[0] + "/9"
    notify_queue, eval_queue = f"notify-{uid}", f"alerts-{uid}"
    env = clean_env(
        {
            "HERON_ALERTS_PROMETHEUS_URL": stack.prometheus_url,
            "HERON_ALERTS_REDIS_URL": redis_url,
            "HERON_ALERTS_RULE_FILES": str(rules),
            "HERON_ALERTS_ROUTING_FILE": str(routing),
            "HERON_ALERTS_EVAL_QUEUE": eval_queue,
            "HERON_ALERTS_NOTIFY_QUEUE": notify_queue,
            # the probe flips on purpose; flap holding is tested in the unit tests
            "HERON_ALERTS_FLAP_THRESHOLD": "1000",
        }
    )
    client = redis.Redis.from_url(redis_url)
    worker = _start(["worker", f"--queues={eval_queue}", "--concurrency=1"], env, tmp_path / "worker0.log")
    beat = _start(["beat", "--loglevel=INFO"], env, tmp_path / "beat.log")
    started = time.time()
    try:
        wait_for(lambda: queued_jobs(client, notify_queue), timeout=90, what="the first notification job")
        for i in range(3):  # kill at different points of the cycle, restart at once
            kill_at = started + 15 * (i + 1) + 4 * i
            wait_for(lambda at=kill_at: time.time() > at, timeout=120, what="kill time", interval=0.5)
            _kill(worker, signal.SIGKILL)
            worker = _start(
                ["worker", f"--queues={eval_queue}", "--concurrency=1"], env, tmp_path / f"worker{i + 1}.log"
            )
        end = started + 100
        wait_for(lambda: time.time() > end, timeout=150, what="the end of the run", interval=0.5)
    finally:
        beat_stopped = time.time()  # nothing is scheduled after this; what was may still run
        _kill(beat, signal.SIGTERM)
        _kill(worker, signal.SIGTERM)
    stopped = time.time()
    jobs = queued_jobs(client, notify_queue)
    try:
        keys = [j["idempotency_key"] for j in jobs]
        assert len(keys) == len(set(keys)), f"a job was enqueued twice: {keys}"
        statuses = [j["status"] for j in jobs]
        detail = [(j["status"], j["created_at"], [a["labels"].get("alertname") for a in j["alerts"]]) for j in jobs]
        assert all(a != b for a, b in itertools.pairwise(statuses)), detail
        for job in jobs:
            created = time.mktime(time.strptime(job["created_at"][:19], "%Y-%m-%dT%H:%M:%S")) - time.timezone
            phase = created % PERIOD
            if job["status"] == "firing":
                assert phase < PERIOD / 2 + 1, (job["status"], phase)
            else:
                assert phase >= PERIOD / 2 - 1 or phase < 1, (job["status"], phase)
        # Every half-period boundary crossed after the first job produced exactly one job (a boundary
        # in the last seconds before beat stopped may or may not have been evaluated yet).
        first = min(time.mktime(time.strptime(j["created_at"][:19], "%Y-%m-%dT%H:%M:%S")) - time.timezone for j in jobs)
        surely = sum(1 for t in range(int(first) + 1, int(beat_stopped) - 5) if t % (PERIOD // 2) == 0)
        maybe = sum(1 for t in range(int(first) + 1, int(stopped) + 1) if t % (PERIOD // 2) == 0)
        assert surely <= len(jobs) - 1 <= maybe, (len(jobs), surely, maybe, statuses)
    finally:
        client.flushdb()
        client.close()
