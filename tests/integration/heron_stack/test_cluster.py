"""The cluster topology under faults: kill -9 a collector, a receiver and a log storage node while data flows.

Every metric point sent must be readable through Thanos Query afterwards, counted per series. Logs: every
line must be readable, except lines a killed storage node had accepted within its documented loss window
(VICTORIALOGS_STORAGE_FLAGS' flush interval) before it died; each missing line is checked against it.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from heron_stack.stack_table import VICTORIALOGS_STORAGE_FLAGS
from tests.fixtures.cluster import CountedSender, kill_9, logs_line_ids, restarted, start_cluster
from tests.fixtures.stack import StackHandle
from tests.helpers import prom_query, wait_for

pytestmark = pytest.mark.integration

FLUSH_SECONDS = float(VICTORIALOGS_STORAGE_FLAGS[0].split("=")[1].rstrip("s"))
LOSS_WINDOW = FLUSH_SECONDS + 1.0
"""A killed log storage node may lose what it accepted in its last flush interval, plus a second of slack
for the flush itself and the clock between the sender's ack and the kill."""


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackHandle]:
    handle = start_cluster(Path(tmp_path_factory.mktemp("cluster")))
    try:
        yield handle
    finally:
        handle.stack.down()


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
    try:
        wait_for(lambda: len(sender.points) >= 8 and len(sender.lines) >= 100, timeout=30, what="data to flow")
        _kill_and_wait(cluster, "collector-1")
        wait_for(lambda: len(sender.points) >= 30, timeout=30, what="more data after the collector kill")
        _kill_and_wait(cluster, "receive-2")
        wait_for(lambda: len(sender.points) >= 50, timeout=30, what="more data after the receiver kill")
        log_kill = _kill_and_wait(cluster, "vlstorage-1")
        sent_before = len(sender.points)
        wait_for(lambda: len(sender.points) >= sent_before + 8, timeout=30, what="data after the log node kill")
    finally:
        sender.stop()

    points = len(sender.points)
    expected = {str(i): points for i in range(sender.series)}
    counts = wait_for(
        lambda: (c := _series_counts(cluster, run_id)) == expected and c,
        timeout=60,
        what=f"{points} points in each of {sender.series} series through Thanos Query",
    )
    assert counts == expected

    sent = sender.lines

    def all_readable_or_in_window() -> list[str] | None:
        got = set(logs_line_ids(cluster.victorialogs_url, run_id))
        missing = sorted(set(sent) - got)
        outside = [line for line in missing if not log_kill - LOSS_WINDOW <= sent[line] <= log_kill]
        return None if outside else missing or ["none"]

    missing = wait_for(all_readable_or_in_window, timeout=60, what="every log line outside the loss window")
    lost = [line for line in missing if line != "none"]
    print(
        f"points {points} x {sender.series} series, lines {len(sent)}, lost in window {len(lost)}, "
        f"client retries {sender.retries}"
    )
    got = logs_line_ids(cluster.victorialogs_url, run_id)
    assert set(got) <= set(sent), "the select tier returned lines nobody sent"
