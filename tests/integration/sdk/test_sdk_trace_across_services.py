"""A Flask app calls a second one over requests and enqueues a Celery task: one trace across three processes."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.helpers import logs_query, prom_query, wait_for
from tests.integration.sdk.support import PYTHON, free_port, process, read_rows

pytestmark = pytest.mark.integration


@pytest.fixture
def services(stack, tmp_path):
    suffix = uuid.uuid4().hex[:8]
    names = {role: f"it-sdk-{role}-{suffix}" for role in ("frontend", "backend", "worker")}
    backend_port, frontend_port = free_port(), free_port()
    env = {
        "HERON_IT_DIR": str(tmp_path),
        "HERON_IT_BROKER": stack.redis_url,
        "HERON_IT_QUEUE": f"heron-it-{suffix}",
        "HERON_IT_BACKEND": f"http://127.0.0.1:{backend_port}",
        "HERON_IT_FRONTEND_SERVICE": names["frontend"],
        "HERON_IT_BACKEND_SERVICE": names["backend"],
        "HERON_IT_WORKER_SERVICE": names["worker"],
        "OTEL_EXPORTER_OTLP_ENDPOINT": stack.otlp_http_endpoint,
    }
    app_cmd = [PYTHON, "-m", "tests.integration.sdk.sdk_apps"]
    worker_cmd = [
        PYTHON,
        "-m",
        "celery",
        "-A",
        "tests.integration.sdk.sdk_apps:celery",
        "worker",
        "--pool=prefork",
        "--concurrency=1",
        "--without-heartbeat",
        "--without-gossip",
        "--without-mingle",
        "--loglevel=INFO",
    ]
    with (
        process(
            [*app_cmd, "backend", str(backend_port)],
            env,
            tmp_path / "backend.log",
            f"http://127.0.0.1:{backend_port}/price/warmup",
        ),
        process(
            [*app_cmd, "frontend", str(frontend_port)],
            env,
            tmp_path / "frontend.log",
            f"http://127.0.0.1:{frontend_port}/health",
        ),
        process(worker_cmd, env, tmp_path / "worker.log"),
    ):
        yield {"names": names, "url": f"http://127.0.0.1:{frontend_port}", "dir": tmp_path}


def _trace(directory, trace_id):
    return [span for span in read_rows(directory, "spans") if span["trace_id"] == trace_id]


def test_one_trace_across_flask_requests_flask_and_celery(stack, services):
    names, directory = services["names"], services["dir"]
    order = f"order-{uuid.uuid4().hex[:6]}"
    assert httpx.get(f"{services['url']}/checkout/{order}", timeout=30).json()["price"] == 42

    def root_span():
        return next(
            (
                s
                for s in read_rows(directory, "spans")
                if s["attributes"].get("url.path") == f"/checkout/{order}" and s["kind"] == "SERVER"
            ),
            None,
        )

    root = wait_for(root_span, timeout=30, what="the frontend server span")
    trace_id = root["trace_id"]

    def task_run():
        return next((s for s in _trace(directory, trace_id) if s["resource"]["service.name"] == names["worker"]), None)

    run = wait_for(task_run, timeout=60, what="the Celery task span in the worker, in the same trace")
    spans = _trace(directory, trace_id)
    by_id = {span["span_id"]: span for span in spans}

    assert root["name"] == "GET /checkout/<order_id>"
    assert root["parent_id"] is None
    assert root["resource"]["service.name"] == names["frontend"]

    (backend,) = [s for s in spans if s["resource"]["service.name"] == names["backend"]]
    assert backend["name"] == "GET /price/<order_id>"
    client = by_id[backend["parent_id"]]  # the requests span in the frontend
    assert (client["kind"], client["resource"]["service.name"]) == ("CLIENT", names["frontend"])
    assert client["parent_id"] == root["span_id"]

    assert run["kind"] == "CONSUMER"
    assert run["attributes"]["celery.task_name"] == "heron_it.process_order"
    publish = by_id[run["parent_id"]]
    assert (publish["kind"], publish["resource"]["service.name"]) == ("PRODUCER", names["frontend"])
    assert publish["parent_id"] == root["span_id"]
    # The prefork child has its own instance id, distinct from the worker's main process.
    assert run["pid"] != root["pid"]

    def traced_logs():
        logs = read_rows(directory, "logs")
        done = [log for log in logs if log["body"] == f"checkout done for {order}"]
        processing = [log for log in logs if log["body"] == f"processing order {order}"]
        return (done, processing) if done and processing else None

    done, processing = wait_for(traced_logs, timeout=30, what="frontend and worker logs of the order")
    assert (done[0]["trace_id"], done[0]["span_id"]) == (trace_id, root["span_id"])
    assert (processing[0]["trace_id"], processing[0]["span_id"]) == (trace_id, run["span_id"])

    query = f'{{service.name="{names["frontend"]}"}} "checkout done for {order}"'
    (entry,) = wait_for(lambda: logs_query(stack.victorialogs_url, query, since_s=600), timeout=60, what=query)
    assert entry["trace_id"] == trace_id, entry
    assert entry["span_id"] == root["span_id"], entry

    query = f'http_server_request_duration_seconds_count{{service_name="{names["frontend"]}"}}'
    series = wait_for(lambda: prom_query(stack.prometheus_url, query), timeout=60, what=query)
    assert series[0]["metric"]["http_route"] == "/checkout/<order_id>"
    assert series[0]["metric"]["http_response_status_code"] == "200"


def test_celery_task_failure_is_recorded_in_the_worker(stack, services):
    names, directory = services["names"], services["dir"]
    order = f"fail-{uuid.uuid4().hex[:6]}"
    httpx.get(f"{services['url']}/checkout/{order}", timeout=30)

    def failed_run():
        return next(
            (
                s
                for s in read_rows(directory, "spans")
                if s["resource"]["service.name"] == names["worker"]
                and s["attributes"].get("celery.task_name") == "heron_it.process_order"
                and s["attributes"].get("celery.action") == "run"
                and s["trace_id"]
                in {
                    r["trace_id"]
                    for r in read_rows(directory, "spans")
                    if r["attributes"].get("url.path") == f"/checkout/{order}"
                }
            ),
            None,
        )

    wait_for(failed_run, timeout=60, what="the failed task span")
    errors = [
        log
        for log in read_rows(directory, "logs")
        if log["severity"] == "ERROR" and log["resource"]["service.name"] == names["worker"]
    ]
    assert any(f"order {order} rejected" in (log["body"] or "") for log in errors)
    query = f'heron_errors_total{{service_name="{names["worker"]}", error_type="ValueError"}}'
    wait_for(lambda: prom_query(stack.prometheus_url, query), timeout=60, what=query)
