"""`alert-worker worker|beat|evaluate|notify test`: run the engine's processes."""

from __future__ import annotations

import argparse
import json
import sys
import time

from alert_worker import telemetry
from alert_worker.config import AlertsConfig
from alert_worker.notify.routing import load_routing


def worker(args: argparse.Namespace) -> int:
    from celery.signals import worker_process_init, worker_process_shutdown

    from alert_worker.celery_app import app

    # Evaluations and deliveries run in prefork children: each sets up its own exporters.
    worker_process_init.connect(lambda **_: _child_telemetry(), weak=False)
    worker_process_shutdown.connect(lambda **_: telemetry.flush(), weak=False)
    config = app.conf.heron_config
    queues = args.queues or ",".join(role_queues(config, args.role))
    argv = ["worker", f"--loglevel={args.loglevel}", f"--concurrency={args.concurrency}", f"--queues={queues}"]
    if args.role != "all":
        argv.append(f"--hostname={args.role}@%h")  # two pools on one host need two node names
    app.worker_main(argv)
    return 0


ROLES = ("all", "evaluate", "deliver")


def role_queues(config: AlertsConfig, role: str) -> list[str]:
    """The queues a worker of `role` consumes: evaluation and delivery run in separate pools.

    A delivery waiting on a destination's rate limit holds its process; in its own pool it can never
    take the processes that evaluate rules.
    """
    evaluation = {config.eval_queue, *_group_queues(config)}
    chosen = {"evaluate": evaluation, "deliver": {config.notify_queue}}.get(role, {*evaluation, config.notify_queue})
    return sorted(chosen)


def _child_telemetry() -> None:
    if telemetry.setup():
        telemetry.prime_destinations()


def _group_queues(config: AlertsConfig) -> list[str]:
    return list(load_routing(config.routing_path()).group_queues.values())


def beat(args: argparse.Namespace) -> int:
    from alert_worker.celery_app import app

    telemetry.setup()
    app.start(["beat", f"--loglevel={args.loglevel}"])
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
    p.set_defaults(func=worker)
    p = sub.add_parser("beat", help="run the scheduler (RedBeat lock: only one is active)")
    p.add_argument("--loglevel", default="INFO")
    p.set_defaults(func=beat)
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
