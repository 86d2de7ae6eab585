"""An evaluation that changed nothing writes only its slot marker to the real Redis (watched with MONITOR)."""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import pytest
import redis

from alert_worker.engine import Engine, evaluate_group
from alert_worker.notify.routing import parse_routing
from alert_worker.rules.loader import parse_rules
from alert_worker.sources.prometheus import PrometheusSource
from alert_worker.state.redis_store import PREFIX, RedisStore

pytestmark = pytest.mark.integration

ROUTING = parse_routing("route:\n  group_wait: 0s\n  group_interval: 0s\n  cooldown: 0s\n", "routing.yaml")


class Monitor:
    """Every command Redis runs (MONITOR), collected by a thread until the `end` marker is echoed."""

    def __init__(self, url: str, end: str) -> None:
        self.client = redis.Redis.from_url(url)
        self.end, self.ready = end, threading.Event()
        self.commands: list[str] = []
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        self.ready.wait(10)

    def _run(self) -> None:
        with self.client.monitor() as mon:
            self.ready.set()
            while True:
                command: dict[str, Any] = mon.next_command()
                if self.end in command["command"]:
                    return
                self.commands.append(command["command"])

    def stop(self) -> list[str]:
        self.client.echo(self.end)
        self.thread.join(10)
        self.client.close()
        return self.commands


def test_an_unchanged_evaluation_writes_only_the_slot_marker(stack: Any) -> None:
    uid = uuid.uuid4().hex[:8]
    (group,) = parse_rules(
        f"""
groups:
  - name: writes-{uid}
    interval: 10s
    rules:
      - alert: WritesProbe
        expr: label_replace(vector(1), "host_name", "sw-{uid}", "", "")
        annotations:
          heron_no_data: resolve
""",
        "writes.yml",
    )
    url = stack.redis_url.rsplit("/", 1)[0] + "/11"
    source = PrometheusSource(stack.prometheus_url)
    sent: list[Any] = []
    engine = Engine(source=source, store=RedisStore.from_url(url), routing=ROUTING, enqueue=sent.append)
    now = time.time()
    try:
        evaluate_group(engine, group, now)
        assert [j.status for j in sent] == ["firing"]
        monitor = Monitor(url, f"end-{uid}")
        evaluate_group(engine, group, now + 10)
        evaluate_group(engine, group, now + 20)
        commands = monitor.stop()
        mine = [c for c in commands if f"writes-{uid}" in c]
        # The evaluation lock (SET NX, released by a script) is not state.
        writes = [
            c.split(" ")[1]
            for c in mine
            if c.split(" ", 1)[0].upper() in {"SET", "DEL", "SADD", "ZADD", "HSET"} and ":lock:" not in c
        ]
        assert writes == [f"{PREFIX}slot:writes-{uid}"] * 2, mine
        assert any(c.upper().startswith("MGET") for c in mine), "the evaluations did read the group (monitor saw them)"
        assert len(sent) == 1
        state = RedisStore.from_url(url).load_group(group.name)
        assert state.last_slot == group.interval_s * ((now + 20) // group.interval_s)
        (rule,) = [r for k, r in state.rules.items() if not k.startswith("meta:")]
        assert rule.last_eval == pytest.approx(now + 20), "the evaluation time comes with the slot marker"
    finally:
        source.close()
        cleanup = redis.Redis.from_url(url)
        cleanup.flushdb()
        cleanup.close()
