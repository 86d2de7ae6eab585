"""Nothing lost: a collector outage and a SIGTERM both end with every cycle in Prometheus."""

from __future__ import annotations

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


def _cycles_logged(agent: AgentProcess) -> list[int]:
    """The timestamps (ms) of the cycles the agent says it collected, from its own log."""
    return [int(ms) for ms in re.findall(r"cycle collected at (\d+) ms", agent.log())]


def _samples(prometheus_url: str, query: str, at: float | None = None) -> list[float]:
    result = prom_query(prometheus_url, query, at=at)
    return [float(t) for t, _ in result[0]["values"]] if result else []


def _ms(times: list[float]) -> set[int]:
    return {round(t * 1000) for t in times}


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

        wait_for(caught_up, timeout=180, what="buffered cycles delivered after the outage")

        # Every cycle the agent collected in the window is stored, whatever the scheduling jitter.
        times = _samples(stack.prometheus_url, f"{uptime}{window}", at=end)
        collected = {ms for ms in _cycles_logged(agent) if (end - int(end - start) - 1) * 1000 < ms <= end * 1000}
        assert len(collected) >= OUTAGE_SECONDS // 2, f"the agent collected only {len(collected)} cycles"
        missing = sorted(collected - _ms(times))
        assert not missing, f"{len(missing)} of {len(collected)} collected cycles not stored, first at {missing[0]} ms"
        series = prom_query(stack.prometheus_url, f"{selector}{window}", at=end)
        assert len(series) > 100
        short = {r["metric"]["__name__"]: len(r["values"]) for r in series if len(r["values"]) != len(times)}
        assert not short, f"series with other sample counts than the {len(times)} cycles: {short}"
        dropped = prom_query(stack.prometheus_url, f'otel_agent_points_dropped_total{{service_name="{agent.service}"}}')
        assert {r["value"][1] for r in dropped} == {"0"}
        # The buffer bound holds: the process grows by at most the buffer limit, plus 2 MiB for one catch-up
        # request (its bytes only: cycles are serialized one at a time) and allocator slack.
        assert max(rss_during) - rss_before <= BUFFER_MIB + 2, (
            f"RSS grew from {rss_before:.1f} to {max(rss_during):.1f} MiB: {[round(r, 1) for r in rss_during]}"
        )
    finally:
        stack.start_service("collector")
        assert agent.terminate() == 0


def test_sigterm_flushes_buffered_cycles(stack: StackHandle, tmp_path: Path) -> None:
    stack.stop_service("collector")
    agent = start_agent(stack.otlp_http_endpoint, tmp_path, prefix="agent-sigterm", extra={"HERON_AGENT_INTERVAL": "1"})
    try:
        wait_for(
            lambda: len(_cycles_logged(agent)) >= 5, timeout=60, what="five cycles buffered while the collector is down"
        )
    except BaseException:
        agent.proc.kill()
        agent.proc.wait()
        raise
    finally:
        stack.start_service("collector")
    assert agent.terminate(timeout=60) == 0
    collected = set(_cycles_logged(agent))  # includes the final cycle taken at shutdown
    assert "all buffered cycles delivered" in agent.log()
    uptime = f'system_uptime_seconds{{service_name="{agent.service}"}}[10m]'
    stored = wait_for(
        lambda: (
            len(_samples(stack.prometheus_url, uptime)) >= len(collected) and _samples(stack.prometheus_url, uptime)
        ),
        timeout=30,
        what=f"{len(collected)} cycles of the stopped agent in Prometheus",
    )
    assert _ms(stored) == collected
