"""Where a `grafana` binary exists, Grafana itself loads Heron's provisioning and every dashboard.

Heron's own test machines cannot install Grafana; there the dashboards are proven by structure
(unit tests) and by running every query against real data (test_dashboard_queries.py).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import httpx
import pytest

from heron_stack.dashboards import render_all
from tests.fixtures.stack import StackHandle, start_stack

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(shutil.which("grafana") is None, reason="no grafana binary on PATH to load the provisioning"),
]


@pytest.fixture(scope="module")
def grafana(stack: StackHandle, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    shared = {name: stack.config.port(name) for name in ("prometheus", "victorialogs")}
    handle = start_stack(tmp_path_factory.mktemp("grafana"), ports=shared, only=["grafana"])
    try:
        yield handle.config.url("grafana")
    finally:
        handle.stack.down()


def test_every_dashboard_loads_in_the_heron_folder(grafana: str) -> None:
    for data in render_all().values():
        resp = httpx.get(f"{grafana}/api/dashboards/uid/{data['uid']}", timeout=10)
        assert resp.status_code == 200, f"{data['uid']}: {resp.status_code} {resp.text[:200]}"
        assert resp.json()["meta"]["folderTitle"] == "Heron"


def test_provisioned_datasources_answer(grafana: str) -> None:
    for uid in ("heron-prometheus", "heron-logs"):
        resp = httpx.get(f"{grafana}/api/datasources/uid/{uid}/health", timeout=10)
        assert resp.status_code == 200, f"{uid}: {resp.text[:200]}"
