"""`alert-worker worker|beat|shards|evaluate|notify test`: run the engine's processes."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from alert_worker import telemetry
from alert_worker.config import AlertsConfig
from alert_worker.notify.routing import load_routing
from alert_worker.sharding import check_shard, eval_route, shard_queue


def worker(args: argparse.Namespace) -> int:
    from celery.signals import worker_process_init, worker_process_shutdown

    shard = check_shard(args.shards, args.shard, args.role)  # before Celery starts: a bad flag stops here

    from alert_worker.celery_app import app

    # Evaluations and deliveries run in prefork children: each sets up its own exporters.
    worker_process_init.connect(lambda **_: _child_telemetry(), weak=False)
    worker_process_shutdown.connect(lambda **_: telemetry.flush(), weak=False)
    config = app.conf.heron_config
    chosen = [q for q in args.queues.split(",") if q] or role_queues(config, args.role)
    if shard:
        chosen.append(shard_queue(config.eval_queue, shard[1]))
    queues = ",".join(chosen)
    argv = ["worker", f"--loglevel={args.loglevel}", f"--concurrency={args.concurrency}", f"--queues={queues}"]
    if args.role != "all" or shard:
        suffix = f"-shard{shard[1]}" if shard else ""
        argv.append(f"--hostname={args.role}{suffix}@%h")  # two pools on one host need two node names
    if shard:
        _join_shard(config, *shard)
    app.worker_main(argv)
    return 0


def _join_shard(config: AlertsConfig, shards: int, shard: int) -> None:
    """Keep this worker's shard live while it consumes (from worker_ready) and its evaluations progress;
    leave at shutdown."""
    import os
    import tempfile
    from pathlib import Path

    from celery.signals import task_postrun, task_prerun, worker_ready, worker_shutting_down

    from alert_worker.celery_app import EVALUATE_TASK
    from alert_worker.redis_client import connect
    from alert_worker.shard_members import Heartbeat, ShardMembers, TaskClock, progressing

    members = ShardMembers(
        connect(config.redis_target, socket_timeout=5, socket_connect_timeout=5),
        config.eval_queue,
        config.shard_ttl_s,
    )
    clock = TaskClock(Path(tempfile.mkdtemp(prefix=f"heron-shard{shard}-")))
    stuck_after_s = _longest_interval_s(config) + config.visibility_timeout_s

    def started(task: Any = None, **_: Any) -> None:  # in the pool process running the task
        if getattr(task, "name", None) == EVALUATE_TASK:
            clock.started(os.getpid(), time.monotonic())

    def finished(task: Any = None, **_: Any) -> None:
        if getattr(task, "name", None) == EVALUATE_TASK:
            clock.finished(os.getpid())

    def healthy() -> bool:
        return progressing(clock.running_since(), time.monotonic(), stuck_after_s)

    def stop(**_: Any) -> None:
        heartbeat.stop()
        clock.remove()

    task_prerun.connect(started, weak=False)
    task_postrun.connect(finished, weak=False)
    heartbeat = Heartbeat(members, shard, shards, healthy=healthy)
    worker_ready.connect(lambda **_: heartbeat.start(), weak=False)
    worker_shutting_down.connect(stop, weak=False)


def _longest_interval_s(config: AlertsConfig) -> float:
    """The longest evaluation interval: an evaluation running past it plus the visibility timeout is stuck."""
    from alert_worker.rules.api_rules import API_INTERVAL_S
    from alert_worker.rules.loader import load_rule_files

    return max([API_INTERVAL_S, *(g.interval_s for g in load_rule_files(config.rule_paths()))])


ROLES = ("all", "evaluate", "deliver")


def role_queues(config: AlertsConfig, role: str) -> list[str]:
    """The queues a worker of `role` consumes: evaluation and delivery run in separate pools.

    A delivery waiting on a destination's rate limit holds its process; in its own pool it can never
    take the processes that evaluate rules. A sharded worker adds its shard's queue to these and keeps
    the shared one, where beat sends evaluations while no shard is live.
    """
    evaluation = {config.eval_queue, *_group_queues(config)}
    chosen = {"evaluate": evaluation, "deliver": {config.notify_queue}}.get(role, {*evaluation, config.notify_queue})
    return sorted(chosen)


def _child_telemetry() -> None:
    if telemetry.setup():
        telemetry.prime_destinations()


def _group_queues(config: AlertsConfig) -> list[str]:
    return list(load_routing(config.routing_path()).group_queues.values())


def unreachable(command: str, config: AlertsConfig, exc: Exception) -> str:
    """What a command says when Redis does not answer (the URL's password masked)."""
    from alert_worker.redis_url import redact

    hint = "start Redis or set HERON_ALERTS_REDIS_URL"
    return f"alert-worker {command}: cannot reach Redis at {redact(config.redis_url)}: {exc}; {hint}"


def beat(args: argparse.Namespace) -> int:
    import redis

    from alert_worker.celery_app import app
    from alert_worker.redis_client import connect

    config: AlertsConfig = app.conf.heron_config
    try:  # RedBeat's lock lives in Redis: without it beat would stop with a traceback
        connect(config.redis_target, socket_timeout=5, socket_connect_timeout=5).ping()
    except redis.RedisError as exc:
        print(unreachable("beat", config, exc), file=sys.stderr)
        return 2
    telemetry.setup()
    app.start(["beat", f"--loglevel={args.loglevel}"])
    return 0


def shards(args: argparse.Namespace) -> int:
    """Print the live shards and which one evaluates each rule group (JSON)."""
    import redis

    from alert_worker.celery_app import app
    from alert_worker.redis_client import connect
    from alert_worker.rules.api_rules import API_GROUP
    from alert_worker.rules.loader import load_rule_files
    from alert_worker.shard_members import ShardMembers

    config: AlertsConfig = app.conf.heron_config
    client = connect(config.redis_target, socket_timeout=5, socket_connect_timeout=5)
    members = ShardMembers(client, config.eval_queue, config.shard_ttl_s)
    try:
        live = members.describe()
    except redis.RedisError as exc:
        print(unreachable("shards", config, exc), file=sys.stderr)
        return 2
    pinned = load_routing(config.routing_path()).group_queues
    groups = [g.name for g in load_rule_files(config.rule_paths())] + [API_GROUP]
    report = {
        "live": {str(k): v for k, v in live.items()},
        "groups": {g: eval_route(g, config.eval_queue, pinned, list(live)) for g in groups},
    }
    print(json.dumps(report, indent=2))
    return 0


def evaluate(args: argparse.Namespace) -> int:
    """Evaluate one group now in this process (jobs still go to the broker)."""
    from alert_worker.engine import evaluate_group
    from alert_worker.tasks import runtime

    rt = runtime()
    group = rt.groups().get(args.group)
    if group is None:
        print(f"evaluate: no rule group {args.group!r}; known: {', '.join(sorted(rt.groups()))}", file=sys.stderr)
        return 2
    outcome = evaluate_group(rt.engine, group, time.time())
    print(json.dumps({"group": outcome.group, "status": outcome.status, "jobs": len(outcome.jobs)}))
    return 0


def notify_test(args: argparse.Namespace) -> int:
    """Send a sample notification to one destination: directly (default) or through the delivery queue."""
    from alert_worker.channels import ChannelError, DestinationConfigError, resolve_destinations, sample_job, send_test

    if args.queue:
        from alert_worker.celery_app import enqueue_delivery

        job = sample_job(args.channel)
        enqueue_delivery(job)
        print(f"queued test notification {job.idempotency_key} for {args.channel}")
        return 0
    try:
        result = send_test(resolve_destinations(), args.channel)
    except (ChannelError, DestinationConfigError) as exc:  # already redacted: no tokens or webhook URLs
        print(f"alert-worker: test notification to {args.channel} failed: {exc}", file=sys.stderr)
        return 1
    print(f"sent test notification to {args.channel} (remote id: {result.remote_id or '-'})")
    return 0


def notify_preview(args: argparse.Namespace) -> int:
    """Print what a destination would show for a sample alert, without sending anything."""
    from alert_worker.channels import preview_destination, resolve_destinations, sample_job

    job = sample_job(args.channel, status=args.status)
    print(preview_destination(resolve_destinations(), args.channel, job))
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("worker", help="run a Celery worker (evaluations and/or deliveries)")
    p.add_argument("--queues", default="", help="comma-separated queues (default: those of --role)")
    p.add_argument(
        "--role",
        choices=ROLES,
        default="all",
        help="evaluate: rule groups only; deliver: notifications only; all: both (one small host)",
    )
    p.add_argument("--concurrency", type=int, default=2)
    p.add_argument("--loglevel", default="INFO")
    p.add_argument("--shards", type=int, help="number of evaluation shards (with --shard; see docs/sharding.md)")
    p.add_argument("--shard", type=int, help="the shard this worker evaluates, 0 to N-1 (with --shards N)")
    p.set_defaults(func=worker)
    p = sub.add_parser("beat", help="run the scheduler (RedBeat lock: one is active, the others stand by)")
    p.add_argument("--loglevel", default="INFO")
    p.set_defaults(func=beat)
    p = sub.add_parser("shards", help="show the live evaluation shards and each rule group's queue")
    p.set_defaults(func=shards)
    p = sub.add_parser("evaluate", help="evaluate one rule group now")
    p.add_argument("group")
    p.set_defaults(func=evaluate)
    notify = sub.add_parser("notify", help="notification helpers")
    nsub = notify.add_subparsers(dest="notify_cmd", required=True)
    p = nsub.add_parser("test", help="send a test notification to a destination and report the result")
    p.add_argument("--channel", required=True, help="destination name, e.g. console or ops-telegram")
    p.add_argument("--queue", action="store_true", help="go through the delivery queue instead of sending directly")
    p.set_defaults(func=notify_test)
    p = nsub.add_parser("preview", help="print a destination's rendering of a sample alert")
    p.add_argument("--channel", required=True, help="destination name")
    p.add_argument("--status", choices=["firing", "resolved"], default="firing")
    p.set_defaults(func=notify_preview)
