"""Two beats on one Redis: RedBeat's lock keeps exactly one of them scheduling evaluations, and the
standby takes over within the lock timeout when the active one is killed."""

from __future__ import annotations

import base64
import json
import signal
import time
import uuid
from pathlib import Path

import pytest
import redis

from tests.fixtures.stack import clean_env
from tests.helpers import wait_for

from .test_celery_crash import _kill, _start

pytestmark = pytest.mark.integration
LOCK_TIMEOUT = 4
INTERVAL = 2
# docs/sharding.md: the standby retries every third of the lock timeout and sends what is due at once.
TAKEOVER_BOUND = LOCK_TIMEOUT + LOCK_TIMEOUT / 3 + INTERVAL + 1


def _queued(client: redis.Redis, queue: str, group: str) -> int:
    count = 0
    for raw in client.lrange(queue, 0, -1):
        message = json.loads(raw)
        args = json.loads(base64.b64decode(message["body"]))[0]
        count += args == [group]
    return count


def _active(logs: list[Path]) -> int | None:
    found = [i for i, log in enumerate(logs) if "Acquired lock" in log.read_text(errors="replace")]
    return found[0] if len(found) == 1 else None


def test_only_one_beat_schedules_and_the_standby_takes_over(stack, tmp_path):
    uid = uuid.uuid4().hex[:8]
    group = f"beat-{uid}"
    rules = tmp_path / "beat.rules.yml"
    rules.write_text(
        f"groups:\n  - name: {group}\n    interval: 2s\n    rules:\n      - alert: Never\n        expr: vector(0) > 1\n"
    )
    redis_url = stack.redis_url.rsplit("/", 1)[0] + "/8"
    queue = f"alerts-{uid}"
    env = clean_env(
        {
            "HERON_ALERTS_PROMETHEUS_URL": stack.prometheus_url,
            "HERON_ALERTS_REDIS_URL": redis_url,
            "HERON_ALERTS_RULE_FILES": str(rules),
            "HERON_ALERTS_EVAL_QUEUE": queue,
            "HERON_ALERTS_BEAT_LOCK_TIMEOUT": f"{LOCK_TIMEOUT}s",
        }
    )
    client = redis.Redis.from_url(redis_url)
    logs = [tmp_path / "beat1.log", tmp_path / "beat2.log"]
    beats = [_start(["beat"], env, logs[0]), _start(["beat"], env, logs[1])]
    first, second = beats
    try:
        wait_for(lambda: _queued(client, queue, group) >= 1, timeout=90, what="the first scheduled evaluation")
        started = time.time()
        wait_for(lambda: time.time() > started + 20, timeout=60, what="20 s of scheduling", interval=0.5)
        count = _queued(client, queue, group)
        # one beat sends about one task per 2 s interval (10 in 20 s); two beats would send about 20
        assert 5 <= count <= 14, count
        assert first.poll() is None, "both beats keep running; one waits for the lock"
        assert second.poll() is None, "both beats keep running; one waits for the lock"

        active = _active(logs)
        assert active is not None, "exactly one beat says it holds the lock"
        _kill(beats[active], signal.SIGKILL)
        killed_at, before = time.time(), _queued(client, queue, group)
        wait_for(lambda: _queued(client, queue, group) > before, timeout=60, what="a task from the standby beat")
        takeover = time.time() - killed_at
        assert "Acquired lock" in logs[1 - active].read_text(), "the standby took the lock"
        assert takeover <= TAKEOVER_BOUND, (takeover, TAKEOVER_BOUND)
        mark = time.time()
        wait_for(lambda: time.time() > mark + 10, timeout=30, what="10 s of scheduling", interval=0.5)
        after = _queued(client, queue, group) - before
        assert 3 <= after <= 8, after  # the standby schedules alone, about one task per 2 s interval
    finally:
        _kill(first, signal.SIGTERM)
        _kill(second, signal.SIGTERM)
        client.flushdb()
        client.close()
