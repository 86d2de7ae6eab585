"""The Celery app of the alert engine and notification delivery (Redis broker, JSON only).

Tasks: `heron.evaluate_group` (alert_worker.tasks) and `heron.deliver` (alert_worker.delivery.tasks,
included when that package is installed). Beat runs under RedBeat, whose Redis lock keeps exactly
one beat active; each rule group is scheduled at its interval with `expires` = interval.
"""

from __future__ import annotations

import functools
import importlib.util
import logging
from typing import TYPE_CHECKING, Any

from celery import Celery

from alert_worker.config import AlertsConfig, resolve_config
from alert_worker.models import NotificationJob, job_to_dict
from alert_worker.notify.routing import load_routing
from alert_worker.rules.api_rules import API_GROUP, API_INTERVAL_S
from alert_worker.rules.loader import load_rule_files

if TYPE_CHECKING:
    from alert_worker.delivery.ratelimit import RateLimiter

log = logging.getLogger(__name__)
EVALUATE_TASK = "heron.evaluate_group"
DELIVER_TASK = "heron.deliver"
SWEEP_TASK = "heron.deliver_sweep"
SWEEP_INTERVAL_S = 15
RESTORE_SCAN_S = 5


def _delivery_available() -> bool:
    try:
        return importlib.util.find_spec("alert_worker.delivery.tasks") is not None
    except ImportError as exc:
        log.warning("notification delivery is unavailable (%s); this worker only evaluates rules", exc)
        return False


def _includes() -> list[str]:
    return ["alert_worker.tasks", *(["alert_worker.delivery.tasks"] if _delivery_available() else [])]


def beat_schedule(config: AlertsConfig) -> dict[str, dict[str, Any]]:
    """One periodic evaluation per rule group, expiring after one interval so backlogs never replay."""
    routing = load_routing(config.routing_path())
    schedule: dict[str, dict[str, Any]] = {}
    for group in load_rule_files(config.rule_paths()):
        schedule[f"heron-evaluate:{group.name}"] = {
            "task": EVALUATE_TASK,
            "schedule": group.interval_s,
            "args": [group.name],
            "options": {"expires": group.interval_s, "queue": routing.group_queues.get(group.name, config.eval_queue)},
        }
    schedule[f"heron-evaluate:{API_GROUP}"] = {
        "task": EVALUATE_TASK,
        "schedule": API_INTERVAL_S,
        "args": [API_GROUP],
        "options": {"expires": API_INTERVAL_S, "queue": routing.group_queues.get(API_GROUP, config.eval_queue)},
    }
    if _delivery_available():
        # Re-drives outbox entries whose worker died between claim and ack (see docs/channels.md).
        schedule["heron-deliver-sweep"] = {
            "task": SWEEP_TASK,
            "schedule": SWEEP_INTERVAL_S,
            "options": {"expires": SWEEP_INTERVAL_S, "queue": config.notify_queue},
        }
    return schedule


def transport_options(config: AlertsConfig) -> dict[str, Any]:
    """Redis broker options: a task whose worker was killed outright (no ack, no reject) runs again
    after the visibility timeout (20 s by default), found by a scan every 5 s (kombu scans every 100 s
    by default): a killed worker's job runs again within 25 s. Under Sentinel, kombu also needs the
    name the sentinels know the primary by (`master_name`)."""
    return {
        "visibility_timeout": config.visibility_timeout_s,
        "unacked_restore_interval": RESTORE_SCAN_S,
        "unacked_restore_throttle": 1,
        **config.broker_transport()[1],
    }


#: How a task message is re-sent while the broker is away: about 15 s of tries, longer than a Sentinel
#: failover, so beat and the evaluation pool ride through one (Celery's default gives up after 0.6 s).
PUBLISH_RETRY_POLICY = {"max_retries": 10, "interval_start": 0, "interval_step": 0.5, "interval_max": 2}


def attach_redbeat_client(celery: Celery, config: AlertsConfig) -> None:
    """Give RedBeat Heron's Redis client (RedBeat builds one only when the app carries none).

    It comes from the same resolver as every other client: under Sentinel it finds the new primary
    and retries through a failover, where RedBeat's own would fail within a second and stop beat.
    """
    from redbeat.schedulers import REDBEAT_REDIS_KEY

    from alert_worker.redis_client import connect

    setattr(celery, REDBEAT_REDIS_KEY, connect(config.redis_target, decode_responses=True))


def create_celery(config: AlertsConfig | None = None) -> Celery:
    cfg = config or resolve_config()
    celery = Celery("heron", broker=cfg.broker, include=_includes())
    celery.conf.update(
        task_serializer="json",
        accept_content=["json"],
        result_serializer="json",
        task_ignore_result=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_default_queue=cfg.eval_queue,
        broker_connection_retry_on_startup=True,
        broker_transport_options=transport_options(cfg),
        timezone="UTC",
        beat_scheduler="redbeat.RedBeatScheduler",
        beat_max_loop_interval=5,
        task_publish_retry_policy=PUBLISH_RETRY_POLICY,
        redbeat_redis_url=cfg.redis_target.redbeat_url(),
        redbeat_key_prefix="heron:alerts:redbeat:",
        redbeat_lock_timeout=30,
        heron_config=cfg,
        beat_schedule=beat_schedule(cfg),
    )
    attach_redbeat_client(celery, cfg)
    return celery


app = create_celery()


@functools.cache
def _rate_limiter(redis_url: str) -> RateLimiter:
    """One Redis client per process, made on first use."""
    from alert_worker.delivery.ratelimit import RedisRateLimiter
    from alert_worker.redis_client import connect

    return RedisRateLimiter(connect(redis_url))


def enqueue_delivery(job: NotificationJob) -> None:
    """Queue `job` for `heron.deliver`, holding its place in its destination's order (see ratelimit.py)."""
    from alert_worker.delivery.queueing import queue_job

    cfg: AlertsConfig = app.conf.heron_config

    def send(queued: NotificationJob) -> None:
        app.send_task(DELIVER_TASK, args=[job_to_dict(queued)], queue=cfg.notify_queue)

    queue_job(job, _rate_limiter(cfg.redis_url), send)
