"""Two beats on one Redis: RedBeat's lock keeps exactly one of them scheduling evaluations, and the
standby takes over within the lock timeout when the active one is killed.

Nothing consumes the evaluation queue, so it keeps every task either beat sent; each task's expiry (its
send time plus one interval) tells the slot it was scheduled for. One beat scheduling means no slot is
scheduled twice; scheduling without a break means no run of slots is missed beyond the documented bound."""

from __future__ import annotations

import base64
import itertools
import json
import math
import signal
import time
import uuid
from datetime import datetime
from pathlib import Path

import pytest
import redis

from tests.fixtures.stack import clean_env
from tests.helpers import wait_for

from .test_celery_crash import _kill, _start

pytestmark = pytest.mark.integration
LOCK_TIMEOUT = 4
INTERVAL = 2
LOCK_KEY = "heron:alerts:redbeat::lock"
#: One beat sends a group's task once per interval; a send late by up to one more interval on a busy machine
#: lands one slot further on.
STEADY_GAP_SLOTS = 3
#: docs/sharding.md: the standby retries every third of the lock timeout and sends what is due at once, so
#: its first task is at most this many slots after the slot of the kill (one more covers a busy machine).
TAKEOVER_SLOTS = math.ceil((LOCK_TIMEOUT + LOCK_TIMEOUT / 3) / INTERVAL) + 1
#: Deadline of the polls: well above the documented guarantees; a pass never waits for it.
DEADLINE = 60


def _slots(client: redis.Redis, queue: str, group: str) -> list[int]:
    """The slot (send time // interval) of every evaluation of `group` waiting in `queue`, in order."""
    slots = []
    for raw in client.lrange(queue, 0, -1):
        message = json.loads(raw)
        if json.loads(base64.b64decode(message["body"]))[0] != [group]:
            continue
        sent = datetime.fromisoformat(message["headers"]["expires"]).timestamp() - INTERVAL
        slots.append(int(sent // INTERVAL))
    return sorted(slots)


def _active(logs: list[Path]) -> int | None:
    found = [i for i, log in enumerate(logs) if "Acquired lock" in log.read_text(errors="replace")]
    return found[0] if len(found) == 1 else None


def test_only_one_beat_schedules_and_the_standby_takes_over(stack, tmp_path):
    uid = uuid.uuid4().hex[:8]
    group = f"beat-{uid}"
    rules = tmp_path / "beat.rules.yml"
    rules.write_text(
        f"groups:\n  - name: {group}\n    interval: {INTERVAL}s\n"
        "    rules:\n      - alert: Never\n        expr: vector(0) > 1\n"
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
        # Ten intervals of scheduling with both beats running.
        wait_for(lambda: len(_slots(client, queue, group)) >= 10, timeout=90, what="ten scheduled evaluations")
        assert first.poll() is None, "both beats keep running; one waits for the lock"
        assert second.poll() is None, "both beats keep running; one waits for the lock"
        active = _active(logs)
        assert active is not None, "exactly one beat says it holds the lock"
        token = client.get(LOCK_KEY)
        assert token is not None, "the active beat holds the lock"

        _kill(beats[active], signal.SIGKILL)
        kill_slot, killed = int(time.time() // INTERVAL), _slots(client, queue, group)
        wait_for(lambda: client.get(LOCK_KEY) not in (None, token), timeout=DEADLINE, what="the standby's lock")
        assert "Acquired lock" in logs[1 - active].read_text(), "the standby took the lock"
        # Five intervals of scheduling by the standby.
        wait_for(
            lambda: len(_slots(client, queue, group)) >= len(killed) + 5,
            timeout=DEADLINE,
            what="five evaluations scheduled by the standby",
        )
        slots = _slots(client, queue, group)
    finally:
        _kill(first, signal.SIGTERM)
        _kill(second, signal.SIGTERM)
        client.flushdb()
        client.close()
    assert len(slots) == len(set(slots)), f"a slot was scheduled twice: {slots}"
    before, after = [s for s in slots if s <= kill_slot], [s for s in slots if s > kill_slot]
    for a, b in itertools.pairwise(before):
        assert b - a <= STEADY_GAP_SLOTS, f"the active beat missed slots {a + 1}..{b - 1}: {slots}"
    for a, b in itertools.pairwise(after):
        assert b - a <= STEADY_GAP_SLOTS, f"the standby missed slots {a + 1}..{b - 1}: {slots}"
    assert after[0] - kill_slot <= TAKEOVER_SLOTS, f"the standby took over after {after[0] - kill_slot} slots"
