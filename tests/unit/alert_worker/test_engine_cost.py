"""What an evaluation costs: no state rewrite when nothing changed, bounded concurrent queries, stage timings."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import HistogramDataPoint, InMemoryMetricReader

from alert_worker import telemetry
from alert_worker.engine import Engine, evaluate_group
from alert_worker.exceptions import SourceError
from alert_worker.models import NotificationJob
from alert_worker.notify.routing import parse_routing
from alert_worker.rules.evaluator import Sample
from alert_worker.rules.model import AlertRule, RuleGroup
from alert_worker.stages import STAGES
from alert_worker.state.memory import MemoryStore

from .fakes import FakeSource

ROUTING = parse_routing("route:\n  group_wait: 0s\n  group_interval: 1m\n  cooldown: 0s\n", "routing.yaml")
CPU = AlertRule("HostHighCpu", "cpu > 0.9", "hosts", labels={"severity": "warning"})
SLOW = AlertRule("HostSlow", "slow", "hosts", for_s=180.0)
GROUP = RuleGroup("hosts", 60.0, (CPU, SLOW))


class CountingStore(MemoryStore):
    """A MemoryStore that counts the parts a save writes besides the slot marker."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[tuple[str, str]] = []

    def _write(self, part: str, group: str) -> None:
        self.writes.append((part, group))


def _tick(engine: Engine, minute: int) -> Any:
    return evaluate_group(engine, GROUP, 60_000.0 + 60 * minute)


def test_a_cycle_that_changes_nothing_writes_no_state() -> None:
    source, store = FakeSource(), CountingStore()
    sent: list[NotificationJob] = []
    engine = Engine(source=source, store=store, routing=ROUTING, enqueue=sent.append)
    source.series["cpu > 0.9"] = {"web-1": 0.95}
    source.present_hosts = {"web-1"}
    _tick(engine, 0)
    assert {part for part, _ in store.writes} >= {"state", "firing"}, "the first evaluation writes everything"
    store.writes.clear()
    _tick(engine, 1)
    _tick(engine, 2)
    assert store.writes == [], "same firing alert, same value: only the slot marker moves"
    assert store.load_group("hosts").last_slot == 60_000.0 + 120
    source.series["cpu > 0.9"] = {"web-1": 0.97}
    _tick(engine, 3)
    assert [part for part, _ in store.writes] == ["state"], "a new value is state; the firing set is the same"
    source.series["cpu > 0.9"] = {}
    store.writes.clear()
    _tick(engine, 4)
    assert {part for part, _ in store.writes} == {"state", "firing", "outbox"}, "the resolve job goes to the outbox"
    assert [j.status for j in sent] == ["firing", "resolved"]


def test_for_timers_run_out_while_writes_are_skipped() -> None:
    """A pending alert written once is not mistaken for one the worker stopped evaluating."""
    source, store = FakeSource(), CountingStore()
    engine = Engine(source=source, store=store, routing=ROUTING)
    source.series["slow"] = {"db-1": 1.0}
    _tick(engine, 0)
    store.writes.clear()
    _tick(engine, 1)
    _tick(engine, 2)
    assert store.writes == []
    # Another worker process (same store, nothing in memory) takes over at minute 3.
    fresh = Engine(source=source, store=store, routing=ROUTING)
    out = _tick(fresh, 3)
    assert out.alerts_by_state == {"firing": 1}, "3 minutes of `for: 3m` have passed, none lost to skipped writes"


class GatedSource(FakeSource):
    """Holds each query until `width` are in flight (or all have started), recording the most seen at once."""

    def __init__(self, width: int, total: int) -> None:
        super().__init__()
        self.width, self.total = width, total
        self.cond = threading.Condition()
        self.in_flight = self.started = self.most = 0

    def query(self, expr: str, at: float) -> list[Sample]:
        with self.cond:
            self.in_flight += 1
            self.started += 1
            self.most = max(self.most, self.in_flight)
            self.cond.notify_all()
            self.cond.wait_for(lambda: self.in_flight >= self.width or self.started >= self.total, timeout=10)
        try:
            if expr == "broken":
                raise SourceError("query 'broken' rejected by Prometheus: parse error", transient=False)
            samples: list[Sample] = super().query(expr, at)
            return samples
        finally:
            with self.cond:
                self.in_flight -= 1


def test_queries_of_a_group_run_concurrently_but_bounded() -> None:
    rules = (*(AlertRule(f"R{i}", f"q{i}", "many") for i in range(6)), AlertRule("Bad", "broken", "many"))
    source = GatedSource(width=3, total=len(rules))
    for i in range(6):
        source.series[f"q{i}"] = {f"h{i}": float(i)}
    engine = Engine(source=source, store=MemoryStore(), routing=ROUTING, query_concurrency=3)
    out = evaluate_group(engine, RuleGroup("many", 60.0, rules), 60_000.0)
    assert source.most == 3, "three in flight at once, never more"
    assert source.started == len(rules)
    pending = sorted(
        (t.rule, dict(t.labels)["host_name"]) for t in out.transitions if t.rule[0] == "R" and t.to_state == "pending"
    )
    assert pending == [(f"R{i}", f"h{i}") for i in range(6)], "each answer lands with its own rule"
    assert out.failed_rules == 1, "the rejected query fails its rule only"


def test_one_at_a_time_when_concurrency_is_one() -> None:
    source = GatedSource(width=2, total=2)
    engine = Engine(source=source, store=MemoryStore(), routing=ROUTING, query_concurrency=1)
    source.width = 1  # with one query at a time nobody waits
    evaluate_group(engine, GROUP, 60_000.0)
    assert source.most == 1


@pytest.fixture
def reader(monkeypatch: pytest.MonkeyPatch) -> InMemoryMetricReader:
    reader = InMemoryMetricReader()
    meter = MeterProvider(metric_readers=[reader]).get_meter("test")
    monkeypatch.setattr(telemetry, "_i", telemetry.instruments(meter))
    return reader


def test_stage_timings_are_exported_as_metrics(reader: InMemoryMetricReader) -> None:
    source = FakeSource()
    source.series["cpu > 0.9"] = {"web-1": 0.95}
    engine = Engine(source=source, store=MemoryStore(), routing=ROUTING)
    out = _tick(engine, 0)
    assert set(out.stages) >= {"load", "query", "state", "pipeline", "save", "enqueue"}
    assert set(out.stages) <= set(STAGES)
    assert all(seconds >= 0 for seconds in out.stages.values())
    telemetry.evaluation(out, sum(out.stages.values()))
    data = reader.get_metrics_data()
    assert data is not None
    points = [
        p
        for rm in data.resource_metrics
        for sm in rm.scope_metrics
        for m in sm.metrics
        if m.name == telemetry.STAGE_DURATION
        for p in m.data.data_points
        if isinstance(p, HistogramDataPoint)
    ]
    attrs = [dict(p.attributes or {}) for p in points]
    assert {a["heron.stage"] for a in attrs} == set(out.stages)
    assert {a["heron.group"] for a in attrs} == {"hosts"}
    assert all(p.count == 1 for p in points)
