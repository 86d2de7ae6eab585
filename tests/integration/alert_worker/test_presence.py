"""Presence checks of vanished firing alerts, asked in batches, agree with one check per alert on real Prometheus."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from alert_worker.sources.prometheus import PrometheusSource
from tests.fixtures.alerting import MetricsTarget, PrivatePrometheus
from tests.helpers import wait_for

pytestmark = pytest.mark.integration

HOSTS = ["web-1", "a.b", "c|d", 'x"y', "back\\slash"]


def _exposition_value(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


def test_batched_presence_agrees_with_one_query_per_label_set(tmp_path: Path) -> None:
    target = MetricsTarget()
    for host in HOSTS:
        target.set(f'probe_up{{host_name="{_exposition_value(host)}",disk="sda"}}', 1.0)
    rules = tmp_path / "none.rules.yml"
    rules.write_text("groups: []\n")
    prom = PrivatePrometheus(tmp_path, rules, target.port, "1s")
    source = PrometheusSource(prom.url)
    try:
        wait_for(
            lambda: len(httpx.get(f"{prom.url}/api/v1/series", params={"match[]": "probe_up"}).json()["data"]) == 5,
            timeout=30,
            what="the probe series scraped",
        )
        now = time.time()
        sets = [
            *({"host_name": h} for h in HOSTS),
            {"host_name": "web-1", "disk": "sda"},
            {"host_name": "web-1", "disk": "sdb"},  # one label off: gone
            {"host_name": "aXb"},  # regex characters are literal: `.` is no wildcard
            {"host_name": "c"},
            {"host_name": ".*"},
            {"host_name": "gone"},
            {},  # nothing to check: present, as Prometheus would have it
        ]
        batched = source.series_present_many(sets, now)
        assert batched == [True] * 6 + [False] * 5 + [True]
        assert batched == [source.series_present(s, now) for s in sets]
    finally:
        source.close()
        prom.close()
        target.close()
