"""The real `alert-worker worker` (Celery, prefork, real Redis broker) SIGKILLed while it sends.

Two ways a worker dies mid-send: the pool child is killed (the OOM killer's usual pick; the
parent rejects the task and the broker queues it again at once), or the whole worker is killed
(a lost host; nobody acknowledges, and the broker hands the task out again after the visibility
timeout, 20 s by default). Either way no message reaches the chat twice, each alert group's last message
shows its final state, and the message a killed worker held is tried again within 30 s of the kill.
"""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psutil
import pytest
from celery import Celery

from alert_worker.delivery import RedisOutbox, RedisRateLimiter
from alert_worker.delivery.queueing import queue_job
from alert_worker.models import job_to_dict
from tests.fixtures.stack import clean_env
from tests.fixtures.standins import TelegramStandIn
from tests.fixtures.standins.jobs import make_alert, make_job
from tests.helpers import wait_for
from tests.integration.alert_worker.delivery.conftest import ROOT, keys_in, write_destinations

pytestmark = pytest.mark.integration
TOKEN = "123456:TEST-token-abcdefghijklmnopqrstu"
BIN = Path(sys.executable).parent / "alert-worker"
KILLS = ("child", "worker", "child", "worker")


class Worker:
    """`alert-worker worker` in its own session, so the whole worker can be killed at once."""

    def __init__(self, queue: str, env: dict[str, str], log_dir: Path) -> None:
        self.queue, self.env, self.log_dir = queue, env, log_dir
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        with (self.log_dir / f"worker{self.starts}.log").open("wb") as log:
            self.proc = subprocess.Popen(
                [str(BIN), "worker", f"--queues={self.queue}", "--concurrency=1"],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def kill(self, what: str) -> None:
        assert self.proc is not None
        if what == "child":  # the pool process running the task; the parent stays and respawns one
            for child in psutil.Process(self.proc.pid).children(recursive=True):
                child.send_signal(signal.SIGKILL)
        else:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        if self.running():
            assert self.proc is not None
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


def test_sigkilled_celery_workers_send_nothing_twice_and_every_chat_ends_showing_the_final_state(
    ns, tmp_path, redis_url, redis_client
):
    """Six alert groups, each firing then resolved: whatever the kills hit, each group's last message is RESOLVED."""
    queue, dest_name = f"heron-test-notify-{ns}", f"tg-{ns}"
    start = datetime.now(UTC)
    jobs = []
    for i in range(12):
        status = "firing" if i % 2 == 0 else "resolved"
        jobs.append(
            make_job(
                dest_name,
                key=f"{ns}-{i:02d}",
                status=status,
                group_key=f"{ns}-group-{i // 2}",
                created_at=start + timedelta(milliseconds=i),
                alerts=(make_alert(status=status, summary=f"notification {ns}-{i:02d}", starts_at=start),),
            )
        )
    with TelegramStandIn(hold=0.3) as tg:
        dest = {"type": "telegram", "token": TOKEN, "chat_id": "-100", "api_url": tg.url, "rate_per_second": 50}
        path = write_destinations(tmp_path / "dest.yaml", {dest_name: dest})
        env = clean_env(
            {
                "HERON_ALERTS_REDIS_URL": redis_url,
                "HERON_ALERTS_NOTIFY_QUEUE": queue,
                "HERON_ALERTS_DESTINATIONS_FILE": str(path),
                "HERON_ALERTS_RULE_FILES": str(tmp_path / "none-*.rules.yml"),
                "HERON_ALERTS_DELIVERY_LEASE": "2",
            }
        )
        worker = Worker(queue, env, tmp_path)
        held = itertools.count(1)
        kills: list[str] = []
        lost: list[tuple[float, str]] = []  # (when, key) of each message a whole-worker kill interrupted
        worker_killed = threading.Event()

        attempts: list[tuple[float, str]] = []  # (when, key) of every send attempt the stand-in saw

        def interrupt() -> None:
            [key] = set(keys_in([tg.holding.decode()], ns))
            attempts.append((time.time(), key))
            # Every third request: kill while the stand-in holds the message, before it is accepted.
            if next(held) % 3 == 0 and len(kills) < len(KILLS):
                what = KILLS[len(kills)]
                worker.kill(what)
                kills.append(what)
                if what == "worker":
                    lost.append((time.time(), key))
                    worker_killed.set()

        tg.on_hold = interrupt
        worker.start()
        # As deployed: beat runs the delivery sweep, which re-drives a notification whose task message
        # went down with a killed worker.
        with (tmp_path / "beat.log").open("wb") as beat_log:
            beat = subprocess.Popen([str(BIN), "beat"], cwd=ROOT, env=env, stdout=beat_log, stderr=subprocess.STDOUT)
        client = Celery("heron-test", broker=redis_url)
        limiter, outbox = RedisRateLimiter(redis_client), RedisOutbox(redis_client)
        try:
            for job in jobs:
                queue_job(job, limiter, lambda j: client.send_task("heron.deliver", args=[job_to_dict(j)], queue=queue))

            def all_sent() -> bool:
                if worker_killed.is_set():  # a supervisor restarts the worker at once
                    worker_killed.clear()
                    worker.start()
                return all(outbox.state(j.idempotency_key) == "sent" for j in jobs)

            wait_for(all_sent, timeout=240, what="every notification marked sent", interval=0.1)
        finally:
            worker.stop()
            beat.terminate()
            beat.wait(timeout=30)
            client.close()
        texts = tg.texts()
    arrived = keys_in(texts, ns)
    counts = Counter(arrived)
    assert kills == list(KILLS)
    assert tg.dropped_by_client >= len(KILLS)  # every kill hit a message in flight
    assert set(counts.values()) == {1}, {k: v for k, v in counts.items() if v != 1}
    for firing, resolved in zip(jobs[::2], jobs[1::2], strict=True):
        group = [k for k in arrived if k in (firing.idempotency_key, resolved.idempotency_key)]
        assert group[-1:] == [resolved.idempotency_key], f"{firing.group_key} ends showing {group}"
        if firing.idempotency_key not in counts:  # its resolved notice went first: one message tells both
            [text] = [t for t in texts if resolved.idempotency_key in t]
            assert "(fired " in text, text
    # A message a killed worker held is tried again within 30 s (it may meet the next kill, and go again).
    retried = {
        (killed_at, key): min(at for at, k in attempts if k == key and at > killed_at) - killed_at
        for killed_at, key in lost
    }
    assert len(lost) == KILLS.count("worker")
    late = {key: round(wait, 1) for (_, key), wait in retried.items() if wait > 30}
    assert not late, f"messages of killed workers tried again later than 30 s after the kill: {late}"
