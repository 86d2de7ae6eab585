"""Pre-fork servers and a collector outage, with real processes and the real collector."""

from __future__ import annotations

import json
import os
import subprocess
import threading
import uuid

import httpx
import pytest

from tests.helpers import prom_query, wait_for
from tests.integration.sdk.support import PYTHON, ROOT, free_port, process, read_rows, started, stop

pytestmark = pytest.mark.integration


def _spread_over_workers(url: str, workers: int) -> list[int]:
    """Fire concurrent slow requests until every worker has answered; return the answering pids in order."""
    pids: list[int] = []

    def one() -> None:
        pids.append(httpx.get(f"{url}/slow/300", timeout=30).json()["pid"])

    def batch() -> bool:
        threads = [threading.Thread(target=one) for _ in range(workers * 2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return len(set(pids)) >= workers

    wait_for(batch, timeout=60, what=f"requests answered by {workers} distinct gunicorn workers", interval=0)
    return pids


def test_gunicorn_preload_workers_get_their_own_instance_id_and_lose_no_spans(stack, tmp_path):
    service = f"it-sdk-gunicorn-{uuid.uuid4().hex[:8]}"
    port = free_port()
    env = {
        "HERON_IT_DIR": str(tmp_path),
        "HERON_IT_BACKEND_SERVICE": service,
        # Spans wait in the batch queue until the worker exits: only the exit flush can save them.
        "HERON_IT_FILE_DELAY_MS": "600000",
        "OTEL_EXPORTER_OTLP_ENDPOINT": stack.otlp_http_endpoint,
    }
    cmd = [
        PYTHON,
        "-m",
        "gunicorn",
        "tests.integration.sdk.sdk_apps:backend_app()",
        "--preload",
        "--workers",
        "2",
        "--bind",
        f"127.0.0.1:{port}",
        "--graceful-timeout",
        "20",
    ]
    url = f"http://127.0.0.1:{port}"
    with process(cmd, env, tmp_path / "gunicorn.log", f"{url}/price/ready") as server:
        pids = _spread_over_workers(url, workers=2)
        query = (
            f'count by (service_instance_id) (http_server_request_duration_seconds_count{{service_name="{service}"}})'
        )
        instances = wait_for(
            lambda: (found := prom_query(stack.prometheus_url, query)) and len(found) >= 2 and found,
            timeout=60,
            what="one Prometheus series per worker instance",
        )
        assert stop(server) == 0
    (master,) = started(tmp_path)  # --preload: Heron started once, in the master
    slow_spans = [span for span in read_rows(tmp_path, "spans") if span["name"] == "GET /slow/<int:millis>"]
    assert len(slow_spans) == len(pids)  # every request's span survived the worker exit
    ids_by_pid = {span["pid"]: span["resource"]["service.instance.id"] for span in slow_spans}
    assert set(ids_by_pid) == set(pids)
    assert master["pid"] not in ids_by_pid
    assert len(set(ids_by_pid.values())) == 2
    assert master["instance"] not in ids_by_pid.values()
    assert {series["metric"]["service_instance_id"] for series in instances} >= set(ids_by_pid.values())


def test_collector_down_app_keeps_serving_and_shutdown_returns_at_its_timeout(stack, tmp_path):
    env = {
        "HERON_IT_PROBE_SERVICE": f"it-sdk-outage-{uuid.uuid4().hex[:8]}",
        "HERON_IT_SHUTDOWN_TIMEOUT": "1.0",
        "OTEL_EXPORTER_OTLP_ENDPOINT": stack.otlp_http_endpoint,
    }
    stack.stop_service("collector")
    try:
        # A generous deadline: only a shutdown that hangs on the dead collector can hit it.
        done = subprocess.run(
            [PYTHON, "-m", "tests.integration.sdk.sdk_apps", "probe", "40"],
            cwd=ROOT,
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
    finally:
        stack.start_service("collector")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["statuses"] == [200] * 40
    report = result["report"]
    assert report["completed"] is False
    assert report["spans_exported"] == 0
    assert report["spans_dropped"] == 40
