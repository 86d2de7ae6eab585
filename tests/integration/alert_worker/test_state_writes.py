"""An evaluation that changed nothing writes only its slot marker to the real Redis (watched with MONITOR)."""

from __future__ import annotations

import json
import threading
import time
import uuid
from typing import Any

import pytest
import redis

from alert_worker.engine import Engine, evaluate_group
from alert_worker.exceptions import StaleEvaluationError
from alert_worker.notify.routing import parse_routing
from alert_worker.rules.loader import parse_rules
from alert_worker.rules.state import AlertInstance, RuleState
from alert_worker.sources.prometheus import PrometheusSource
from alert_worker.state.base import GroupSnapshot
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


def test_a_changed_alert_among_many_is_the_only_field_written(stack: Any) -> None:
    uid = uuid.uuid4().hex[:8]
    # Five hosts; only sw-2's value follows the 10 s slot, so it changes between two evaluations.
    series = " or ".join(
        f'label_replace({"floor(vector(time() / 10))" if i == 2 else "vector(1)"}, "host_name", "sw-{i}", "", "")'
        for i in range(5)
    )
    (group,) = parse_rules(
        f"""
groups:
  - name: fields-{uid}
    interval: 10s
    rules:
      - alert: FieldsProbe
        expr: {series}
""",
        "fields.yml",
    )
    url = stack.redis_url.rsplit("/", 1)[0] + "/11"
    source = PrometheusSource(stack.prometheus_url)
    engine = Engine(source=source, store=RedisStore.from_url(url), routing=ROUTING)
    now = time.time()
    try:
        evaluate_group(engine, group, now)
        monitor = Monitor(url, f"end-{uid}")
        evaluate_group(engine, group, now + 10)
        commands = monitor.stop()
        fresh = RedisStore.from_url(url).load_group(group.name)
        alerts = {a.labels["host_name"]: a for r in fresh.rules.values() for a in r.alerts.values()}
        assert alerts["sw-2"].value == (now + 10) // 10, "a fresh reader sees the new value"
        assert alerts["sw-0"].value == 1.0
        hsets = [c for c in commands if c.upper().startswith("HSET") and f"fields-{uid}" in c]
        assert len(hsets) == 1, commands
        written = [host for host, a in alerts.items() if a.fingerprint in hsets[0]]
        assert written == ["sw-2"], hsets[0]
        assert "r|" not in hsets[0], "the rule's own field (its error) did not change"
    finally:
        source.close()
        cleanup = redis.Redis.from_url(url)
        cleanup.flushdb()
        cleanup.close()


def test_two_workers_taking_turns_start_from_each_others_state(stack: Any) -> None:
    """Each worker keeps its decoded state between evaluations; a save by the other is still what it starts from."""
    uid = uuid.uuid4().hex[:8]
    (group,) = parse_rules(
        f"""
groups:
  - name: turns-{uid}
    interval: 10s
    rules:
      - alert: TurnsProbe
        # Present in even 10 s slots, gone in odd ones.
        expr: label_replace(vector(1), "host_name", "tw-{uid}", "", "") and on() (floor(vector(time() / 10)) % 2 == 0)
        annotations:
          heron_no_data: resolve
""",
        "turns.yml",
    )
    url = stack.redis_url.rsplit("/", 1)[0] + "/12"
    source = PrometheusSource(stack.prometheus_url)
    sent: list[Any] = []
    a, b = (
        Engine(source=source, store=RedisStore.from_url(url), routing=ROUTING, enqueue=sent.append) for _ in range(2)
    )
    even = (time.time() // 20) * 20 + 1.0
    try:
        assert evaluate_group(a, group, even).status == "evaluated"
        assert evaluate_group(b, group, even + 10).status == "evaluated"
        assert evaluate_group(a, group, even + 20).status == "evaluated"
        assert [j.status for j in sent] == ["firing", "resolved", "firing"], "no transition lost to a kept state"
        assert evaluate_group(b, group, even + 30).status == "evaluated"
        assert [j.status for j in sent][3:] == ["resolved"]
    finally:
        source.close()
        cleanup = redis.Redis.from_url(url)
        cleanup.flushdb()
        cleanup.close()


def test_state_saved_as_one_json_key_is_read_and_moved_to_fields(stack: Any) -> None:
    uid = uuid.uuid4().hex[:8]
    (group,) = parse_rules(
        f"""
groups:
  - name: legacy-{uid}
    interval: 10s
    rules:
      - alert: LegacyProbe
        expr: label_replace(vector(1), "host_name", "lw-{uid}", "", "")
        for: 10s
""",
        "legacy.yml",
    )
    url = stack.redis_url.rsplit("/", 1)[0] + "/13"
    direct = redis.Redis.from_url(url)
    source = PrometheusSource(stack.prometheus_url)
    engine = Engine(source=source, store=RedisStore.from_url(url), routing=ROUTING)
    now = time.time()
    try:
        evaluate_group(engine, group, now)
        (rule,) = group.rules
        pending = engine.store.load_group(group.name).rules[rule.key]
        # The form written before the state had a field per alert: one JSON document.
        legacy = {
            "rules": {rule.key: {"alerts": {fp: a.to_dict() for fp, a in pending.alerts.items()}, "last_error": ""}}
        }
        direct.delete(f"{PREFIX}state:{group.name}")
        direct.set(f"{PREFIX}group:{group.name}", json.dumps(legacy))
        fresh = Engine(source=source, store=RedisStore.from_url(url), routing=ROUTING)
        out = evaluate_group(fresh, group, now + 10)
        assert out.alerts_by_state == {"firing": 1}, "the pending alert read from the old key ran out its `for`"
        assert not direct.exists(f"{PREFIX}group:{group.name}")
        assert direct.hlen(f"{PREFIX}state:{group.name}") > 0
        assert RedisStore.from_url(url).load_group(group.name).rules[rule.key].alerts.keys() == pending.alerts.keys()
    finally:
        source.close()
        direct.flushdb()
        direct.close()


def test_a_save_from_state_another_worker_has_since_replaced_is_refused(stack: Any) -> None:
    """Changes are written field by field against the state they started from; that state must still be there."""
    url = stack.redis_url.rsplit("/", 1)[0] + "/14"
    group = f"stale-{uuid.uuid4().hex[:8]}"
    a, b = RedisStore.from_url(url), RedisStore.from_url(url)
    alert = AlertInstance("fp1", {"alertname": "X", "host_name": "h"}, {}, "pending", 100.0, 1.0)
    try:
        a.save_group(group, GroupSnapshot(10.0, {"X//e": RuleState({"fp1": alert}, 10.0)}), [])
        old = a.load_group(group)
        later = b.load_group(group)
        b.save_group(group, GroupSnapshot(20.0, {"X//e": RuleState({}, 20.0)}), [], previous=later)
        with pytest.raises(StaleEvaluationError, match="changed since"):
            a.save_group(group, GroupSnapshot(30.0, old.rules), [], previous=old)
        assert a.load_group(group).rules["X//e"].alerts == {}, "the other worker's state stands"
    finally:
        cleanup = redis.Redis.from_url(url)
        cleanup.flushdb()
        cleanup.close()
