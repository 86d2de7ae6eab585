"""Nothing lost: a collector outage and a SIGTERM both end with every cycle in Prometheus."""

from __future__ import annotations

import itertools
import re
import time
from pathlib import Path

import pytest

from tests.fixtures.stack import StackHandle
from tests.helpers import prom_query, wait_for

from .agentproc import AgentProcess, start_agent

pytestmark = pytest.mark.integration

OUTAGE_SECONDS = 65
BUFFER_MIB = 4
# Series present in every cycle; connection counts by state come and go with the sockets.
STABLE = '__name__!~"system_network_connection_count"'


def _cycles_logged(agent: AgentProcess) -> int:
    return len(re.findall(r"cycle collected", agent.log()))


def _samples(prometheus_url: str, query: str, at: float | None = None) -> list[float]:
    result = prom_query(prometheus_url, query, at=at)
    return [float(t) for t, _ in result[0]["values"]] if result else []


def test_collector_outage_loses_no_cycle(stack: StackHandle, tmp_path: Path) -> None:
    agent = start_agent(
        stack.otlp_http_endpoint, tmp_path, prefix="agent-outage", extra={"HERON_AGENT_BUFFER_MAX_MIB": str(BUFFER_MIB)}
    )
    selector = f'{{service_name="{agent.service}",{STABLE}}}'
    uptime = f'system_uptime_seconds{{service_name="{agent.service}"}}'
    try:
        wait_for(lambda: prom_query(stack.prometheus_url, uptime), timeout=60, what="agent data before the outage")
        rss_before = agent.rss_mib()
        start = time.time()
        stack.stop_service("collector")
        rss_during = [rss_before]
        outage_end = time.monotonic() + OUTAGE_SECONDS
        while time.monotonic() < outage_end:
            rss_during.append(agent.rss_mib())
            time.sleep(1)  # sampling memory while the outage lasts, not waiting for a result
        stack.start_service("collector")
        end = time.time()
        window = f"[{int(end - start) + 1}s]"

        def caught_up() -> bool:
            times = _samples(stack.prometheus_url, f"{uptime}{window}")
            return bool(times) and max(times) >= end - 1

        wait_for(caught_up, timeout=90, what="buffered cycles delivered after the outage")

        times = _samples(stack.prometheus_url, f"{uptime}{window}", at=end)
        gaps = [b - a for a, b in itertools.pairwise(times)]
        assert len(times) >= OUTAGE_SECONDS - 2, f"only {len(times)} cycles stored for a {end - start:.0f}s window"
        assert max(gaps) < 1.9, f"a cycle is missing: largest gap between samples {max(gaps):.2f}s"
        series = prom_query(stack.prometheus_url, f"{selector}{window}", at=end)
        per_series = {len(r["values"]) for r in series}
        assert len(series) > 100
        assert per_series == {len(times)}, f"series with missing samples: counts {sorted(per_series)}"
        dropped = prom_query(stack.prometheus_url, f'otel_agent_points_dropped_total{{service_name="{agent.service}"}}')
        assert {r["value"][1] for r in dropped} == {"0"}
        # The buffer bound holds: the process grows by at most the buffer limit (plus allocator slack).
        assert max(rss_during) - rss_before <= BUFFER_MIB + 8, (
            f"RSS grew from {rss_before:.1f} to {max(rss_during):.1f} MiB"
        )
    finally:
        stack.start_service("collector")
        assert agent.terminate() == 0


def test_sigterm_flushes_buffered_cycles(stack: StackHandle, tmp_path: Path) -> None:
    stack.stop_service("collector")
    agent = start_agent(stack.otlp_http_endpoint, tmp_path, prefix="agent-sigterm", extra={"HERON_AGENT_INTERVAL": "1"})
    try:
        wait_for(
            lambda: _cycles_logged(agent) >= 5, timeout=60, what="five cycles buffered while the collector is down"
        )
    finally:
        stack.start_service("collector")
    assert agent.terminate(timeout=60) == 0
    collected = _cycles_logged(agent)  # includes the final cycle taken at shutdown
    assert "all buffered cycles delivered" in agent.log()
    uptime = f'system_uptime_seconds{{service_name="{agent.service}"}}[10m]'
    stored = wait_for(
        lambda: len(_samples(stack.prometheus_url, uptime)) >= collected and _samples(stack.prometheus_url, uptime),
        timeout=30,
        what=f"{collected} cycles of the stopped agent in Prometheus",
    )
    assert len(stored) == collected
