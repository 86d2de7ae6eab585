"""Two beats on one Redis: RedBeat's lock keeps exactly one of them scheduling evaluations."""

from __future__ import annotations

import base64
import json
import signal
import time
import uuid

import pytest
import redis

from tests.fixtures.stack import clean_env
from tests.helpers import wait_for

from .test_celery_crash import _kill, _start

pytestmark = pytest.mark.integration


def _queued(client: redis.Redis, queue: str, group: str) -> int:
    count = 0
    for raw in client.lrange(queue, 0, -1):
        message = json.loads(raw)
        args = json.loads(base64.b64decode(message["body"]))[0]
        count += args == [group]
    return count


def test_only_one_beat_schedules(stack, tmp_path):
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
        }
    )
    client = redis.Redis.from_url(redis_url)
    first = _start(["beat"], env, tmp_path / "beat1.log")
    second = _start(["beat"], env, tmp_path / "beat2.log")
    try:
        wait_for(lambda: _queued(client, queue, group) >= 1, timeout=90, what="the first scheduled evaluation")
        started = time.time()
        wait_for(lambda: time.time() > started + 20, timeout=60, what="20 s of scheduling", interval=0.5)
        count = _queued(client, queue, group)
        # one beat sends about one task per 2 s interval (10 in 20 s); two beats would send about 20
        assert 5 <= count <= 14, count
        assert first.poll() is None, "both beats keep running; one waits for the lock"
        assert second.poll() is None, "both beats keep running; one waits for the lock"
    finally:
        _kill(first, signal.SIGTERM)
        _kill(second, signal.SIGTERM)
        client.flushdb()
        client.close()
