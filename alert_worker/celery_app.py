"""The Celery app of the alert engine and notification delivery (Redis broker, JSON only).

Tasks: `heron.evaluate_group` (alert_worker.tasks) and `heron.deliver` (alert_worker.delivery.tasks,
included when that package is installed). Beat runs under RedBeat, whose Redis lock keeps exactly
one beat active (a standby takes over when the lock lapses); each rule group is scheduled at its
interval with `expires` = interval, and routed when sent to its owner's shard queue (alert_worker.sharding).
"""

from __future__ import annotations

import functools
import importlib.util
import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import redis
from celery import Celery

from alert_worker.config import AlertsConfig, resolve_config
from alert_worker.models import NotificationJob, job_to_dict
from alert_worker.notify.routing import load_routing
from alert_worker.rules.api_rules import API_GROUP, API_INTERVAL_S
from alert_worker.rules.loader import load_rule_files
from alert_worker.sharding import eval_route

if TYPE_CHECKING:
    from alert_worker.delivery.ratelimit import RateLimiter
    from alert_worker.shard_members import ShardMembers

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
    """One periodic evaluation per rule group, expiring after one interval so backlogs never replay.

    The queue is left out: `evaluation_router` picks it each time a task is sent, from the live shards.
    """
    schedule: dict[str, dict[str, Any]] = {}
    for group in load_rule_files(config.rule_paths()):
        schedule[f"heron-evaluate:{group.name}"] = {
            "task": EVALUATE_TASK,
            "schedule": group.interval_s,
            "args": [group.name],
            "options": {"expires": group.interval_s},
        }
    schedule[f"heron-evaluate:{API_GROUP}"] = {
        "task": EVALUATE_TASK,
        "schedule": API_INTERVAL_S,
        "args": [API_GROUP],
        "options": {"expires": API_INTERVAL_S},
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


@functools.cache
def _members(redis_url: str, eval_queue: str, ttl_s: float) -> ShardMembers:
    """One membership reader per process (beat), made on first use; under Sentinel it follows the primary."""
    from alert_worker.redis_client import connect
    from alert_worker.shard_members import ShardMembers

    return ShardMembers(connect(redis_url, socket_timeout=5, socket_connect_timeout=5), eval_queue, ttl_s)


@functools.cache
def _pinned(routing_path: Path | None) -> dict[str, str]:
    """Groups the routing file pins to a queue of their own (`group_queues`); they are not sharded."""
    return dict(load_routing(routing_path).group_queues)


def evaluation_router(config: AlertsConfig, live: Callable[[], list[int]] | None = None) -> Callable[..., Any]:
    """The Celery router of `heron.evaluate_group`: a group's pinned queue, its owner shard's queue, or the
    shared evaluation queue when no shard is live (docs/sharding.md). `live` reads the live shards."""
    if live is None:
        members = _members(config.redis_url, config.eval_queue, config.shard_ttl_s)
        live = functools.partial(members.live_cached, max_age_s=min(1.0, config.shard_ttl_s / 4))

    def route(name: str, args: Any, kwargs: Any, options: Any, task: Any = None, **kw: Any) -> dict[str, str] | None:
        if name != EVALUATE_TASK or not args:
            return None
        try:
            shards = live()
        except redis.RedisError as exc:  # every worker consumes the shared queue: nothing is lost there
            log.warning("cannot read the live shards (%s); sending %s to %s", exc, args[0], config.eval_queue)
            shards = []
        return {"queue": eval_route(str(args[0]), config.eval_queue, _pinned(config.routing_path()), shards)}

    return route


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
        task_routes=(evaluation_router(cfg),),
        # The active beat renews its lock at least three times per lock timeout; a standby retries as often.
        beat_max_loop_interval=min(5.0, cfg.beat_lock_timeout_s / 3),
        task_publish_retry_policy=PUBLISH_RETRY_POLICY,
        redbeat_redis_url=cfg.redis_target.redbeat_url(),
        redbeat_key_prefix="heron:alerts:redbeat:",
        redbeat_lock_timeout=int(cfg.beat_lock_timeout_s),
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
