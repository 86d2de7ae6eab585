"""The default rule pack's metric and label names exist as the real agent reports them through the
real collector into Prometheus, and the rules' expressions evaluate on that data."""

from __future__ import annotations

from pathlib import Path

import pytest

from alert_worker.rules.loader import load_rule_files
from tests.helpers import prom_query, wait_for
from tests.integration.otel_agent.agentproc import start_agent

pytestmark = pytest.mark.integration

PACK = sorted((Path(__file__).resolve().parents[3] / "prometheus" / "rules").glob("*.rules.yml"))
HAS_SWAP = len(Path("/proc/swaps").read_text().strip().splitlines()) > 1

SELECTORS = [
    'system_cpu_utilization_ratio{cpu_mode="idle"}',
    'system_memory_utilization_ratio{system_memory_state="used"}',
    'system_filesystem_utilization_ratio{system_filesystem_state="used"}',
    'system_filesystem_usage_bytes{system_filesystem_state="free"}',
    "system_network_errors_total",
    "system_cpu_load_average_1m",
    "system_cpu_logical_count",
    # swap series exist only on hosts with a swap device
    *(['system_paging_utilization_ratio{system_paging_state="used"}'] if HAS_SWAP else []),
]


def _with_service(selector: str, service: str) -> str:
    matcher = f'service_name="{service}"'
    if "{" in selector:
        return selector.replace("{", "{" + matcher + ",", 1)
    return f"{selector}{{{matcher}}}"


def test_default_pack_names_match_the_agent(stack, tmp_path):
    agent = start_agent(stack.otlp_http_endpoint, tmp_path, prefix="rulepack")
    try:
        for selector in SELECTORS:
            query = _with_service(selector, agent.service)
            rows = wait_for(lambda q=query: prom_query(stack.prometheus_url, q), timeout=90, what=query)
            assert all(r["metric"].get("host_name") for r in rows), f"{query} has no host_name label"
        # every host rule's expression evaluates without error on the agent's data (it may or may not match)
        host_rules = [r for g in load_rule_files(PACK) for r in g.rules if r.name.startswith("Host")]
        for rule in host_rules:
            prom_query(stack.prometheus_url, rule.expr)
        busy = prom_query(
            stack.prometheus_url,
            f'1 - avg by (host_name) (system_cpu_utilization_ratio{{cpu_mode="idle",service_name="{agent.service}"}})',
        )
        assert 0.0 <= float(busy[0]["value"][1]) <= 1.0
    finally:
        agent.terminate()
