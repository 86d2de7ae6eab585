"""SIGHUP reloads the configuration file; a broken file is rejected and the agent keeps running."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from tests.fixtures.stack import StackHandle
from tests.helpers import prom_query, wait_for

from .agentproc import start_agent

pytestmark = pytest.mark.integration


def test_sighup_applies_a_new_naming_and_rejects_a_broken_file(stack: StackHandle, tmp_path: Path) -> None:
    config = tmp_path / "agent.yaml"
    config.write_text("naming: semconv\n")
    agent = start_agent(
        stack.otlp_http_endpoint, tmp_path, prefix="agent-reload", extra={"HERON_AGENT_CONFIG": str(config)}
    )
    selector = f'{{service_name="{agent.service}"}}'
    try:
        wait_for(
            lambda: prom_query(stack.prometheus_url, f"system_process_count{selector}"),
            timeout=60,
            what="semconv names",
        )
        config.write_text("naming: hostmetrics\n")
        agent.proc.send_signal(signal.SIGHUP)
        wait_for(
            lambda: prom_query(stack.prometheus_url, f"system_processes_count{selector}"),
            timeout=60,
            what="hostmetrics names after SIGHUP",
        )
        config.write_text("naming: prometheus\n")
        agent.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: "reload rejected" in agent.log(), timeout=30, what="the broken file to be rejected")
        assert "config field 'naming' = 'prometheus'" in agent.log()
        assert agent.proc.poll() is None
    finally:
        assert agent.terminate() == 0
