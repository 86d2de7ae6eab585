"""Alert state lives in Redis: a Redis restart keeps it (persistence on), so nothing is re-notified
and a resolve that happened while the engine was away is still notified."""

from __future__ import annotations

import time
import uuid

import pytest
import redis

from alert_worker.engine import Engine, evaluate_group
from alert_worker.notify.routing import parse_routing
from alert_worker.rules.loader import parse_rules
from alert_worker.sources.prometheus import PrometheusSource
from alert_worker.state.redis_store import RedisStore
from tests.helpers import wait_for

pytestmark = pytest.mark.integration

ROUTING = parse_routing("route:\n  group_wait: 0s\n  group_interval: 0s\n  cooldown: 0s\n", "routing.yaml")


def _db_url(redis_url: str, db: int) -> str:
    return redis_url.rsplit("/", 1)[0] + f"/{db}"


def test_state_survives_a_redis_restart(stack):
    uid = uuid.uuid4().hex[:8]
    until = time.time() + 12
    rules = f"""
groups:
  - name: restart-{uid}
    interval: 2s
    rules:
      - alert: RestartProbe
        expr: label_replace(vector(1), "host_name", "rr-{uid}", "", "") and on () (vector(time()) < {until:.0f})
        annotations:
          # a synthetic series has no target that could stop reporting
          heron_no_data: resolve
"""
    (group,) = parse_rules(rules, "restart.yml")
    url = _db_url(stack.redis_url, 10)
    source = PrometheusSource(stack.prometheus_url)
    sent: list = []

    def engine() -> Engine:
        return Engine(source=source, store=RedisStore.from_url(url), routing=ROUTING, enqueue=sent.append)

    try:
        evaluate_group(engine(), group, time.time())
        assert [(j.status, j.alerts[0].labels["host_name"]) for j in sent] == [("firing", f"rr-{uid}")]

        stack.stop_service("redis")
        stack.start_service("redis")
        probe = redis.Redis.from_url(url)
        wait_for(probe.ping, timeout=30, what="redis back")
        probe.close()

        snap = RedisStore.from_url(url).load_group(group.name)
        assert [a.state for s in snap.rules.values() for a in s.alerts.values()] == ["firing"]
        evaluate_group(engine(), group, time.time() + 2)
        assert len(sent) == 1, "a firing alert is not re-notified after Redis restarted"

        wait_for(lambda: time.time() > until + 1, timeout=30, what="the probe condition to end", interval=0.5)
        evaluate_group(engine(), group, time.time())
        assert [j.status for j in sent] == ["firing", "resolved"]
    finally:
        source.close()
        cleanup = redis.Redis.from_url(url)
        cleanup.flushdb()
        cleanup.close()
