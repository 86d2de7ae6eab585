"""The cluster topology under faults: kill -9 a collector, a receiver and a log storage node while data flows.

Every metric point sent must be readable through Thanos Query afterwards, counted per series. Logs: every
line must be readable, except lines acknowledged within the documented loss window (VICTORIALOGS_LOSS_WINDOW_SECONDS) before
the log storage node died; each missing line's acknowledgement time is checked against it.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from alert_worker.engine import Engine, evaluate_group
from alert_worker.notify.routing import parse_routing
from alert_worker.rules.loader import parse_rules
from alert_worker.sources.prometheus import PrometheusSource
from alert_worker.state.redis_store import RedisStore
from heron_stack.stack_table import VICTORIALOGS_LOSS_WINDOW_SECONDS
from tests.fixtures.cluster import CountedSender, kill_9, logs_line_ids, restarted, start_cluster
from tests.fixtures.stack import StackHandle
from tests.helpers import prom_query, wait_for

pytestmark = pytest.mark.integration

LOSS_WINDOW = VICTORIALOGS_LOSS_WINDOW_SECONDS


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackHandle]:
    handle = start_cluster(Path(tmp_path_factory.mktemp("cluster")))
    try:
        yield handle
    finally:
        handle.stack.down()


ROUTING = parse_routing("route:\n  group_wait: 0s\n  group_interval: 0s\n  cooldown: 0s\n", "routing.yaml")


class RuleThroughFaults:
    """The alert engine evaluating one rule against Thanos Query every second, in a thread, with its
    state in the cluster's Redis; every notification it enqueues is kept."""

    def __init__(self, cluster: StackHandle, run_id: str) -> None:
        rules = f"""
groups:
  - name: drill-{run_id}
    interval: 1s
    rules:
      - alert: DrillSeriesHigh
        expr: heron_drill_value{{drill_run="{run_id}", drill_series="3"}} > 2
"""
        (self.group,) = parse_rules(rules, "drill.yml")
        self.redis_url = cluster.redis_url.rsplit("/", 1)[0] + "/11"
        self.source = PrometheusSource(cluster.prometheus_url)
        self.sent: list[Any] = []
        self.engine = Engine(
            source=self.source, store=RedisStore.from_url(self.redis_url), routing=ROUTING, enqueue=self.sent.append
        )
        self.failed_evaluations = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(1.0):
            try:
                evaluate_group(self.engine, self.group, time.time())
            except Exception:  # a failed evaluation is counted; what matters is what was sent
                self.failed_evaluations += 1

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
        self.source.close()
        client = redis.Redis.from_url(self.redis_url)
        client.flushdb()
        client.close()


def _kill_and_wait(cluster: StackHandle, name: str) -> float:
    """kill -9 `name`, wait until its supervisor has it running and ready again; return when it was killed."""
    killed_at = time.monotonic()
    pid = kill_9(cluster, name)
    wait_for(lambda: restarted(cluster, name, pid), timeout=60, what=f"{name} to run again after kill -9")
    return killed_at


def _series_counts(cluster: StackHandle, run_id: str) -> dict[str, int]:
    result = prom_query(cluster.prometheus_url, f'count_over_time(heron_drill_value{{drill_run="{run_id}"}}[10m])')
    return {r["metric"]["drill_series"]: int(float(r["value"][1])) for r in result}


def test_no_point_or_line_is_lost_when_a_collector_a_receiver_and_a_log_node_are_killed(
    cluster: StackHandle,
) -> None:
    run_id = uuid.uuid4().hex[:12]
    sender = CountedSender(cluster.otlp_http_endpoint, run_id)
    sender.start()
    rule = RuleThroughFaults(cluster, run_id)
    try:
        wait_for(lambda: len(sender.points) >= 8 and len(sender.lines) >= 100, timeout=30, what="data to flow")
        rule.start()
        wait_for(lambda: rule.sent, timeout=30, what="the drill rule to fire")
        kill_times = {"collector-1": _kill_and_wait(cluster, "collector-1")}
        wait_for(lambda: len(sender.points) >= 30, timeout=30, what="more data after the collector kill")
        kill_times["receive-2"] = _kill_and_wait(cluster, "receive-2")
        wait_for(lambda: len(sender.points) >= 50, timeout=30, what="more data after the receiver kill")
        log_kill = kill_times["vlstorage-1"] = _kill_and_wait(cluster, "vlstorage-1")
        sent_before = len(sender.points)
        wait_for(lambda: len(sender.points) >= sent_before + 8, timeout=30, what="data after the log node kill")
        rule_sent = [(job.status, job.alerts[0].labels["alertname"]) for job in rule.sent]
    finally:
        rule.stop()
        sender.stop()

    assert rule_sent == [("firing", "DrillSeriesHigh")], "the rule fired once and never resolved through the kills"

    points = len(sender.points)
    expected = {str(i): points for i in range(sender.series)}
    counts = wait_for(
        lambda: (c := _series_counts(cluster, run_id)) == expected and c,
        timeout=60,
        what=f"{points} points in each of {sender.series} series through Thanos Query",
    )
    assert counts == expected

    sent = sender.lines
    seen: dict[str, list[str]] = {}

    def only_window_losses() -> bool:
        got = set(logs_line_ids(cluster.victorialogs_url, run_id))
        seen["missing"] = sorted(set(sent) - got, key=sent.__getitem__)
        seen["outside"] = [line for line in seen["missing"] if not log_kill - LOSS_WINDOW <= sent[line] <= log_kill]
        return not seen["outside"]

    try:
        wait_for(only_window_losses, timeout=60, what="every log line outside the loss window")
    except AssertionError:
        offsets = sorted({round(sent[line] - log_kill, 2) for line in seen.get("outside", [])})
        kills = {name: round(at - log_kill, 2) for name, at in kill_times.items()}
        raise AssertionError(
            f"{len(seen.get('outside', []))} of {len(sent)} log lines lost outside the loss window; accepted at "
            f"{offsets[:20]} s from the log node's kill (kills at {kills})"
        ) from None
    print(
        f"points {points} x {sender.series} series, lines {len(sent)}, lost in the window {len(seen['missing'])}, "
        f"client retries {sender.retries}, failed rule evaluations {rule.failed_evaluations}"
    )
    got = logs_line_ids(cluster.victorialogs_url, run_id)
    assert set(got) <= set(sent), "the select tier returned lines nobody sent"
