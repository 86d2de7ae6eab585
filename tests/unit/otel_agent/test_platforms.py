"""psutil on platforms that lack readings: what is missing is skipped, never a crash; top-N processes."""

from __future__ import annotations

import os

import psutil
import pytest

from otel_agent.collectors import Pipeline
from otel_agent.sources.processes import TopProcesses
from otel_agent.sources.psutil_source import PsutilSource


def _unsupported(*_args: object, **_kwargs: object) -> object:
    raise NotImplementedError("not on this platform")


def _denied(*_args: object, **_kwargs: object) -> object:
    raise psutil.AccessDenied(pid=None)


def test_psutil_source_skips_what_the_platform_lacks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(psutil, "cpu_freq", _unsupported)
    monkeypatch.setattr(psutil, "getloadavg", _unsupported)
    monkeypatch.setattr(psutil, "net_connections", _denied)  # macOS without root
    monkeypatch.setattr(psutil, "disk_io_counters", _unsupported)
    readings = PsutilSource().read()
    assert readings.cpu_freq_hz is None
    assert readings.load_average is None
    assert readings.connections is None
    assert readings.disks is None
    names = {p.name for p in Pipeline().build(readings)[0]}
    assert "system.cpu.time" in names
    assert "system.memory.usage" in names
    assert not {"system.cpu.frequency", "system.cpu.load_average.1m", "system.disk.io"} & names
    assert "system.network.connection.count" not in names


def test_top_processes_honour_n_and_the_name_filter() -> None:
    me = psutil.Process(os.getpid()).name()
    top = TopProcesses(top_n=2, sort_by="memory", include=f"^{me}$")
    readings = top.read()
    assert 1 <= len(readings) <= 2
    assert {r.name for r in readings} == {me}
    assert readings == sorted(readings, key=lambda r: r.rss, reverse=True)
    excluded = TopProcesses(top_n=5, exclude=f"^{me}$").read()
    assert me not in {r.name for r in excluded}


class _FakeProcess:
    def __init__(self, status: str) -> None:
        self.info = {"status": status}


def test_psutil_process_states_map_to_semantic_conventions(monkeypatch: pytest.MonkeyPatch) -> None:
    statuses = [psutil.STATUS_RUNNING, psutil.STATUS_SLEEPING, psutil.STATUS_IDLE, psutil.STATUS_DISK_SLEEP]
    statuses += [psutil.STATUS_STOPPED, psutil.STATUS_ZOMBIE, psutil.STATUS_ZOMBIE, psutil.STATUS_DEAD]
    monkeypatch.setattr(psutil, "process_iter", lambda attrs: [_FakeProcess(s) for s in statuses])
    points = Pipeline().build(PsutilSource().read())[0]
    counts = {dict(p.attrs)["process.state"]: p.value for p in points if p.name == "system.process.count"}
    assert counts == {"running": 1, "blocked": 1, "sleeping": 2, "stopped": 1, "defunct": 2}


def test_psutil_source_reports_activity_and_links_and_skips_them_where_missing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stats = type(next(iter(psutil.net_if_stats().values())))  # psutil's own record type for net_if_stats
    fake = {
        "en0": stats(isup=True, duplex=2, speed=1000, mtu=1500, flags=""),
        "utun0": stats(isup=False, duplex=0, speed=0, mtu=1380, flags=""),
    }
    monkeypatch.setattr(psutil, "net_if_stats", lambda: fake)
    r = PsutilSource().read()
    assert r.context_switches is not None
    assert r.context_switches > 0
    speeds = {
        dict(p.attrs)["network.interface.name"]: p.value
        for p in Pipeline().build(r)[0]
        if p.name == "system.network.interface.speed"
    }
    assert speeds == {"en0": 125_000_000}  # 1000 Mbit/s; 0 means unknown and is left out
    monkeypatch.setattr(psutil, "cpu_stats", _unsupported)
    monkeypatch.setattr(psutil, "net_if_stats", _denied)
    r = PsutilSource().read()
    assert (r.context_switches, r.interrupts, r.links) == (None, None, None)
