"""The control page in headless Chromium: click "CPU Spike", watch the action and host CPU rise."""

from __future__ import annotations

import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import sync_playwright

from tests.fixtures.stack import clean_env
from tests.helpers import prom_query, wait_for
from tests.integration.loadgen.conftest import Server, start_server, stop_server

pytestmark = pytest.mark.e2e
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    running = start_server(tmp_path)
    yield running
    stop_server(running)


@pytest.fixture
def page(tmp_path: Path) -> Iterator[Any]:
    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"), executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield context.new_page()
        finally:
            context.close()


def test_cpu_spike_button_starts_an_action_and_host_cpu_rises(server: Server, page: Any) -> None:
    page.goto(server.url + "/")
    page.locator("#health.ok").wait_for(timeout=15_000)
    page.get_by_role("button", name="CPU Spike").click()

    row = page.locator('#active-actions li.action[data-type="cpu-stress"]')
    row.wait_for(timeout=10_000)

    def progressed() -> float:
        value = float(row.locator("progress").get_attribute("value") or 0)
        return value if value > 0 else 0.0

    assert wait_for(progressed, timeout=15, what="progress bar moving") > 0

    def host_cpu() -> float:
        value = float(page.locator("#cpu-percent").inner_text())
        return value if value >= 75 else 0.0

    assert wait_for(host_cpu, timeout=15, what="host CPU >= 75% on the page") >= 75
    events = page.locator("#event-log li")
    assert any("cpu-stress started" in text for text in events.all_inner_texts())

    page.get_by_role("button", name="Stop all").click()
    page.locator("#active-actions li.empty").wait_for(timeout=10_000)


@pytest.fixture
def agent(stack: Any) -> Iterator[str]:
    """The Heron host agent exporting to the real collector every second, under a unique service name."""
    service = f"agent-e2e-{uuid.uuid4().hex[:8]}"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "otel_agent",
            "run",
            "--endpoint",
            stack.otlp_http_endpoint,
            "--interval",
            "1",
            "--service-name",
            service,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=clean_env(),
    )
    yield service
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def test_cpu_spike_from_the_page_shows_in_prometheus(server: Server, page: Any, stack: Any, agent: str) -> None:
    busy = f'1 - avg(system_cpu_utilization_ratio{{service_name="{agent}",cpu_mode="idle"}})'
    samples = f'count_over_time(system_uptime_seconds{{service_name="{agent}"}}[30s]) >= 5'
    wait_for(lambda: prom_query(stack.prometheus_url, samples), timeout=60, what="five cycles from the agent")
    window = f'1 - avg(avg_over_time(system_cpu_utilization_ratio{{service_name="{agent}",cpu_mode="idle"}}[5s]))'
    baseline = float(prom_query(stack.prometheus_url, window)[0]["value"][1])
    # The spike must show as a rise over what the host was doing, not just as a busy host.
    threshold = max(0.75, min(baseline + 0.15, 0.95))

    page.goto(server.url + "/")
    page.locator("#health.ok").wait_for(timeout=15_000)
    page.get_by_role("button", name="CPU Spike").click()
    page.locator('#active-actions li.action[data-type="cpu-stress"]').wait_for(timeout=10_000)
    high = wait_for(
        lambda: prom_query(stack.prometheus_url, f"({busy}) >= {threshold}"),
        timeout=30,
        what=f"host CPU >= {threshold:.0%} in Prometheus (baseline {baseline:.0%})",
    )
    assert float(high[0]["value"][1]) >= threshold
