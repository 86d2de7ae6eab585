"""The agent: cycles survive an unreachable collector and arrive in order with their own timestamps."""

from __future__ import annotations

import threading

from otel_agent.agent import Agent, redact_url
from otel_agent.collectors.filters import Filters
from otel_agent.config import resolve_config
from otel_agent.sources.procfs import ProcfsSource

from .conftest import FIXTURE_ROOT, FakeStat
from .fakes import FlakyExporter, StepClock

RESOURCE = {"service.name": "otel-agent", "host.name": "fixture-host"}


def _agent(exporter: FlakyExporter, **cli: object) -> tuple[Agent, StepClock]:
    clock = StepClock()
    source = ProcfsSource(str(FIXTURE_ROOT), Filters(), clock=clock, stat=FakeStat(FIXTURE_ROOT))
    config = resolve_config({"buffer.batch_cycles": 4, **cli}, {})
    return Agent(config, source=source, exporter=exporter, resource=RESOURCE, clock=clock), clock


def _drain(agent: Agent) -> None:
    while agent.export_batch():
        pass


def test_outage_keeps_every_cycle_and_delivers_in_order_with_original_timestamps() -> None:
    exporter = FlakyExporter()
    agent, _ = _agent(exporter)
    exporter.down = True
    read_times = []
    for _ in range(10):
        agent.collect_into_buffer()
        read_times.append(agent.buffer.peek(100)[-1].time_ns)
        assert agent.export_batch() is False
    assert agent.export_failures == 10
    exporter.down = False
    _drain(agent)
    assert exporter.timestamps("system.uptime") == read_times
    assert agent.buffer.depth == 0


def test_at_the_bound_the_oldest_cycles_are_dropped_and_counted() -> None:
    exporter = FlakyExporter()
    agent, _ = _agent(exporter, **{"buffer.max_cycles": 3})
    exporter.down = True
    for _ in range(5):
        agent.collect_into_buffer()
    dropped = agent.buffer.dropped_points
    assert dropped > 0
    exporter.down = False
    agent.collect_into_buffer()
    _drain(agent)
    assert len(exporter.timestamps("system.uptime")) == 3
    reported = [
        dp.as_int
        for dp in exporter.points("otel_agent.points.dropped")
        if {a.key: a.value.string_value for a in dp.attributes}["reason"] == "buffer_full"
    ]
    assert max(reported) == dropped


def test_self_metrics_report_exports_and_failures() -> None:
    exporter = FlakyExporter()
    agent, _ = _agent(exporter)
    exporter.down = True
    agent.collect_into_buffer()
    agent.export_batch()
    exporter.down = False
    _drain(agent)
    points = {p.name: p.value for p in agent.collect().points if p.name.startswith("otel_agent.")}
    assert points["otel_agent.export.failures"] == 1
    assert points["otel_agent.points.exported"] > 0
    assert points["otel_agent.buffer.depth"] == 0


def test_stop_flushes_the_buffer_before_returning() -> None:
    exporter = FlakyExporter()
    agent, _ = _agent(exporter, interval=3600)
    stop = threading.Event()
    stop.set()  # stopping at once still takes the final cycle and delivers it before run() returns
    agent.run(stop)
    assert len(exporter.timestamps("system.uptime")) == 1
    assert agent.buffer.depth == 0


def test_stop_with_the_collector_down_gives_up_at_the_deadline_and_spills(tmp_path) -> None:
    exporter = FlakyExporter()
    exporter.down = True
    agent, _ = _agent(exporter, interval=3600, shutdown_timeout=0.3, **{"buffer.spill_dir": str(tmp_path)})
    stop = threading.Event()
    stop.set()
    agent.run(stop)
    assert len(list(tmp_path.glob("*.json"))) == 1


def test_reload_swaps_naming_and_keeps_the_buffer() -> None:
    exporter = FlakyExporter()
    agent, _ = _agent(exporter)
    exporter.down = True
    agent.collect_into_buffer()
    agent.apply(resolve_config({"naming": "hostmetrics"}, {}))
    names = {p.name for p in agent.collect().points}
    assert "system.network.packets" in names
    assert agent.buffer.depth == 1


def test_urls_in_logs_are_redacted() -> None:
    assert redact_url("https://user:pw@collector:4318/v1/metrics") == "https://<redacted>@collector:4318/v1/metrics"
    assert redact_url("https://c:4318/v1/metrics?token=abc") == "https://c:4318/v1/metrics?<redacted>"
    assert redact_url("http://c:4318/v1/metrics") == "http://c:4318/v1/metrics"


def test_top_processes_are_off_by_default_and_on_when_asked() -> None:
    exporter = FlakyExporter()
    default, _ = _agent(exporter)
    assert not [p for p in default.collect().points if p.name.startswith("process.")]
    agent, _ = _agent(exporter, **{"processes.top_n": 3})
    pids = {dict(p.attrs)["process.pid"] for p in agent.collect().points if p.name == "process.memory.usage"}
    assert 1 <= len(pids) <= 3
