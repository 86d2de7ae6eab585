"""The real ``heron.deliver`` task in a real Celery worker, against the Telegram stand-in."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from celery import Celery

from alert_worker.models import job_to_dict
from tests.fixtures.stack import clean_env
from tests.fixtures.standins import Fault, TelegramStandIn
from tests.fixtures.standins.jobs import make_alert, make_job
from tests.helpers import wait_for
from tests.integration.alert_worker.delivery.conftest import ROOT, write_destinations

pytestmark = pytest.mark.integration
TOKEN = "123456:TEST-token-abcdefghijklmnopqrstu"


@pytest.fixture
def worker(ns, tmp_path, redis_url) -> Iterator[tuple[TelegramStandIn, Celery, str]]:
    queue = f"heron-test-notify-{ns}"
    with TelegramStandIn() as tg:
        dest = {"type": "telegram", "token": TOKEN, "chat_id": "-100", "api_url": tg.url, "rate_per_second": 50}
        path = write_destinations(tmp_path / "dest.yaml", {f"tg-{ns}": dest})
        env = clean_env(
            {
                "HERON_ALERTS_REDIS_URL": redis_url,
                "HERON_ALERTS_NOTIFY_QUEUE": queue,
                "HERON_ALERTS_DESTINATIONS_FILE": str(path),
                "HERON_ALERTS_RULE_FILES": str(tmp_path / "none-*.rules.yml"),
            }
        )
        cmd = [sys.executable, "-m", "celery", "-A", "alert_worker.celery_app:app", "worker", "-Q", queue]
        cmd += ["--pool=solo", "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "INFO"]
        with (tmp_path / "celery.log").open("ab") as log:
            proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        client = Celery("heron-test", broker=redis_url)
        try:
            yield tg, client, queue
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            client.close()


def _job(destination: str, summary: str):
    return make_job(destination, created_at=datetime.now(UTC), alerts=(make_alert(summary=summary),))


def _send(client: Celery, queue: str, job) -> None:
    client.send_task("heron.deliver", args=[job_to_dict(job)], queue=queue)


def test_task_delivers_once_even_when_enqueued_twice(ns, worker) -> None:
    tg, client, queue = worker
    job = _job(f"tg-{ns}", f"first-{ns}")
    sentinel = _job(f"tg-{ns}", f"last-{ns}")
    for item in (job, job, sentinel):
        _send(client, queue, item)
    wait_for(lambda: any(f"last-{ns}" in t for t in tg.texts()), timeout=60, what="the sentinel notification")
    assert sum(f"first-{ns}" in t for t in tg.texts()) == 1


def test_task_retries_a_transient_failure(ns, worker) -> None:
    tg, client, queue = worker
    tg.inject(Fault(502, {"ok": False, "error_code": 502, "description": "Bad Gateway"}))
    _send(client, queue, _job(f"tg-{ns}", f"retried-{ns}"))
    wait_for(lambda: any(f"retried-{ns}" in t for t in tg.texts()), timeout=60, what="the retried notification")
    assert tg.requests == 2
