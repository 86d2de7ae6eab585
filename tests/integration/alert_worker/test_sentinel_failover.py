"""The alert worker on Redis under Sentinel: the primary is SIGKILLed while alerts fire and resolve.

Real Celery workers (evaluate and deliver pools) and beat reach Redis only through three sentinels.
The sentinels promote the replica within seconds; every process finds the new primary by itself. What a
user would see at the webhook: the alert that kept firing is announced once and never resolved, and the
alert that flips every 15 s gets one notice per flip, none lost, none doubled beyond the documented bound
(docs/sentinel.md: a notice in flight at the kill may be sent twice).
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from alert_worker.config import resolve_config
from alert_worker.engine import Engine, evaluate_group
from alert_worker.notify.routing import parse_routing
from alert_worker.rules.loader import parse_rules
from alert_worker.sources.prometheus import PrometheusSource
from alert_worker.state.redis_store import RedisStore
from tests.fixtures.alerting import start_alert_worker, stop_process_group
from tests.fixtures.sentinel import SentinelRedis
from tests.fixtures.stack import StackHandle, clean_env
from tests.fixtures.standins import WebhookStandIn
from tests.helpers import prom_query, wait_for
from tests.integration.alert_worker.delivery.conftest import write_destinations

pytestmark = pytest.mark.integration

HALF = 15  # the flipping probe fires for 15 s, then is resolved for 15 s
#: Notices a failover may double (docs/sentinel.md): the one in flight when the primary died.
DUPLICATE_BOUND = 1


def _rules(path: Path, uid: str) -> Path:
    path.write_text(
        f"""
groups:
  - name: sentinel-{uid}
    interval: 2s
    rules:
      - alert: SteadyProbe
        expr: label_replace(vector(1), "host_name", "steady-{uid}", "", "")
      - alert: FlipProbe
        expr: label_replace(vector(time()) % {2 * HALF} < {HALF}, "host_name", "flip-{uid}", "", "")
        annotations:
          # a synthetic series has no target that could stop reporting
          heron_no_data: resolve
"""
    )
    return path


def _env(tmp_path: Path, uid: str, redis_url: str, prometheus_url: str, hook_url: str) -> dict[str, str]:
    routing = tmp_path / "routing.yaml"
    routing.write_text(
        'route:\n  receivers: ["hook"]\n  group_by: [alertname, host_name]\n  group_wait: 0s\n'
        "  group_interval: 0s\n  cooldown: 0s\n  repeat_interval: 4h\n  send_resolved: true\n"
    )
    hook = {"type": "webhook", "url": hook_url, "rate_per_second": 50, "burst": 50}
    destinations = write_destinations(tmp_path / "destinations.yaml", {"hook": hook})
    return clean_env(
        {
            "HERON_ALERTS_PROMETHEUS_URL": prometheus_url,
            "HERON_ALERTS_REDIS_URL": redis_url,
            "HERON_ALERTS_RULE_FILES": str(_rules(tmp_path / "sentinel.rules.yml", uid)),
            "HERON_ALERTS_ROUTING_FILE": str(routing),
            "HERON_ALERTS_DESTINATIONS_FILE": str(destinations),
            "HERON_ALERTS_EVAL_QUEUE": f"alerts-{uid}",
            "HERON_ALERTS_NOTIFY_QUEUE": f"notify-{uid}",
            # the probe flips on purpose; flap holding is tested in the unit tests
            "HERON_ALERTS_FLAP_THRESHOLD": "1000",
            "OTEL_SDK_DISABLED": "true",
        }
    )


def _notices(hook: WebhookStandIn, probe: str) -> list[dict[str, Any]]:
    """Every alert about `probe` in every accepted webhook call, in arrival order."""
    return [
        alert
        for accepted in list(hook.accepted)
        for alert in accepted.payload.get("alerts", [])
        if alert["labels"].get("alertname") == probe
    ]


def _half(alert: dict[str, Any]) -> int:
    """Which 15 s half-period a notice is about: when the alert fired, or when it resolved."""
    stamp = alert["startsAt"] if alert["status"] == "firing" else alert["endsAt"]
    return int(datetime.fromisoformat(stamp).timestamp() // HALF)


def test_primary_killed_mid_flow_loses_and_doubles_nothing(stack: StackHandle, tmp_path: Path) -> None:
    uid = uuid.uuid4().hex[:8]
    (tmp_path / "redis").mkdir()
    redis = SentinelRedis(tmp_path / "redis").start()
    procs = []
    with WebhookStandIn() as hook:
        env = _env(tmp_path, uid, redis.url(), stack.prometheus_url, f"{hook.url}/hook")
        try:
            procs = [
                start_alert_worker(["worker", "--role", "evaluate", "--concurrency", "2"], env, tmp_path / "eval.log"),
                start_alert_worker(["worker", "--role", "deliver", "--concurrency", "2"], env, tmp_path / "send.log"),
                start_alert_worker(["beat"], env, tmp_path / "beat.log"),
            ]
            wait_for(lambda: _notices(hook, "SteadyProbe"), timeout=90, what="the steady probe's firing notice")
            wait_for(lambda: len(_notices(hook, "FlipProbe")) >= 2, timeout=60, what="two flips notified")
            # Kill 2 s before a flip, so the flip is evaluated while the sentinels elect a new primary. The
            # probe flips by the clock, so this picks a moment on the scenario's timeline; it awaits no result.
            wait_for(lambda: time.time() % HALF > HALF - 2, timeout=HALF + 1, what="2 s before a flip", interval=0.1)
            old = redis.kill_primary()
            killed_at = time.time()
            redis.wait_failover(old)
            after = lambda: [n for n in _notices(hook, "FlipProbe") if _half(n) > int(killed_at // HALF)]  # noqa: E731
            wait_for(lambda: len(after()) >= 2, timeout=3 * HALF + 30, what="two flips after the failover notified")
        finally:
            for proc in procs:
                stop_process_group(proc)
            redis.close()
    steady = _notices(hook, "SteadyProbe")
    assert [n["status"] for n in steady] == ["firing"], "the alert firing through the kill is never resolved"

    flips = _notices(hook, "FlipProbe")
    halves = Counter(_half(n) for n in flips)
    first, last = min(halves), max(halves)
    assert sorted(set(halves)) == list(range(first, last + 1)), f"a flip was lost: {sorted(halves)}"
    for n in flips:
        assert n["status"] == ("firing" if _half(n) % 2 == 0 else "resolved"), n
    doubled = sum(count - 1 for count in halves.values())
    assert doubled <= DUPLICATE_BOUND, f"{doubled} flips notified twice: {halves}"
    assert last > int(killed_at // HALF) + 1, "flips after the failover were notified"


def test_state_saved_before_the_kill_is_on_the_new_primary(stack: StackHandle, tmp_path: Path) -> None:
    """The engine alone, as in the Redis restart test: the primary dies right after a save; the promoted
    replica holds the firing alert, so it is not notified again, and its resolve is still notified."""
    uid = uuid.uuid4().hex[:8]
    until = time.time() + 20
    (group,) = parse_rules(
        f"""
groups:
  - name: promote-{uid}
    interval: 2s
    rules:
      - alert: PromoteProbe
        expr: label_replace(vector(1), "host_name", "p-{uid}", "", "") and on () (vector(time()) < {until:.0f})
        annotations:
          heron_no_data: resolve
""",
        "promote.yml",
    )
    routing = parse_routing("route:\n  group_wait: 0s\n  group_interval: 0s\n  cooldown: 0s\n", "routing.yaml")
    redis = SentinelRedis(tmp_path).start()
    config = resolve_config(env={"HERON_ALERTS_REDIS_URL": redis.url(4)})
    store = RedisStore.from_url(config.redis_url, replica_wait=config.replica_wait())
    source = PrometheusSource(stack.prometheus_url)
    sent: list = []
    engine = Engine(source=source, store=store, routing=routing, enqueue=sent.append)
    try:
        evaluate_group(engine, group, time.time())
        assert [j.status for j in sent] == ["firing"]
        old = redis.kill_primary()  # right after the save returned
        new = redis.wait_failover(old)
        with redis.client(new, db=4) as direct:
            assert direct.exists("heron:alerts:state:" + group.name), "the promoted replica holds the state"

        evaluate_group(engine, group, time.time() + 2)  # the same client, now on the new primary
        assert [j.status for j in sent] == ["firing"], "a firing alert is not re-notified after the failover"
        # The probe's condition has ended once Prometheus answers its expression with nothing.
        expr = group.rules[0].expr
        wait_for(lambda: not prom_query(stack.prometheus_url, expr), timeout=60, what="the probe condition to end")
        evaluate_group(engine, group, time.time())
        assert [j.status for j in sent] == ["firing", "resolved"]
    finally:
        source.close()
        redis.close()
