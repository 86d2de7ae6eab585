"""History older than the receivers hold: blocks in the cluster's bucket answer through Thanos Query.

Six 2-hour blocks of three series from five days ago are put into the filesystem bucket as receivers
upload them (external labels in meta.json). Thanos Query must return every sample, counted and summed
per series, while the store gateway runs, and nothing once it stops (the receivers never held them);
the compactor must take the blocks, compact the first 8-hour window into one block (its planner leaves the
window of the newest block alone), and not halt.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from heron_stack import cluster as cluster_topology
from heron_stack.stack_table import RECEIVERS, THANOS_REPLICA_LABEL
from tests.fixtures.backfill import backfill, openmetrics
from tests.fixtures.cluster import start_cluster
from tests.fixtures.stack import StackHandle
from tests.fixtures.thanos_blocks import upload_as_receiver
from tests.helpers import prom_query, wait_for

pytestmark = pytest.mark.integration

HOUR = 3600
STEP = 60
SERIES = 3
BLOCK_HOURS = 2
START = (int(time.time()) // (8 * HOUR) - 15) * 8 * HOUR
"""Five days ago, on an 8-hour boundary: the compactor's second level is 8 hours."""
END = START + 6 * BLOCK_HOURS * HOUR
POINTS = (END - START) // STEP
EXTERNAL_LABELS = {THANOS_REPLICA_LABEL: RECEIVERS[0], "tenant_id": "default-tenant"}
"""What a receiver stamps on the blocks it uploads (its replica label, the default tenant)."""


def _value(series: int, n: int) -> float:
    return float(series * 10_000 + n)


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[StackHandle, list[str]]]:
    state_dir = Path(tmp_path_factory.mktemp("history"))
    work = Path(tmp_path_factory.mktemp("blocks"))
    rows = [
        (START + n * STEP, [("heron_history_value", {"series": str(s)}, _value(s, n)) for s in range(SERIES)])
        for n in range(POINTS)
    ]
    backfill(work / "blocks", openmetrics(rows), work)
    bucket = state_dir / "thanos" / "bucket"
    bucket.mkdir(parents=True)
    ids = upload_as_receiver(work / "blocks", bucket, EXTERNAL_LABELS)
    handle = start_cluster(state_dir, only=[*RECEIVERS, "thanos-store", "thanos-query", "thanos-compact"])
    assert cluster_topology.thanos_dir(handle.stack.config) / "bucket" == bucket
    try:
        yield handle, ids
    finally:
        handle.stack.down()


def _per_series(handle: StackHandle, fn: str) -> dict[str, float]:
    expr = f"{fn}(heron_history_value[{END - START + STEP}s])"
    return {r["metric"]["series"]: float(r["value"][1]) for r in prom_query(handle.prometheus_url, expr, at=END)}


def _compactor_metrics(handle: StackHandle) -> dict[str, float]:
    url = f"http://{handle.stack.config.host}:{handle.stack.config.cluster_ports['compact_http']}/metrics"
    out: dict[str, float] = {}
    for line in httpx.get(url, timeout=5, trust_env=False).text.splitlines():
        if line.startswith("thanos_compact") or line.startswith("thanos_blocks_meta_synced"):
            name, _, value = line.rpartition(" ")
            out[name] = float(value)
    return out


def test_the_store_gateway_serves_every_sample_of_blocks_the_receivers_never_held(
    history: tuple[StackHandle, list[str]],
) -> None:
    handle, ids = history
    assert len(ids) == 6, f"promtool wrote {len(ids)} blocks, expected six 2-hour blocks"
    counts = wait_for(lambda: _per_series(handle, "count_over_time"), timeout=60, what="the bucket's history")
    assert counts == {str(s): float(POINTS) for s in range(SERIES)}
    sums = _per_series(handle, "sum_over_time")
    assert sums == {str(s): sum(_value(s, n) for n in range(POINTS)) for s in range(SERIES)}
    (labels,) = {frozenset(r["metric"]) for r in prom_query(handle.prometheus_url, "heron_history_value", at=END)}
    assert labels == {"__name__", "series"}, "Query must drop the receiver's external labels as it does for live data"

    handle.stack.stop_service("thanos-store")
    try:
        assert _per_series(handle, "count_over_time") == {}, "the receivers answered for history they never held"
    finally:
        handle.stack.start_service("thanos-store")


def test_the_compactor_takes_the_uploaded_blocks_and_does_not_halt(history: tuple[StackHandle, list[str]]) -> None:
    handle, ids = history
    bucket = cluster_topology.thanos_dir(handle.stack.config) / "bucket"

    def compacted() -> dict[str, Any] | None:
        for meta_file in bucket.glob("*/meta.json"):
            meta = json.loads(meta_file.read_text(encoding="utf-8"))
            if meta["compaction"]["level"] > 1:
                return dict(meta)
        return None

    meta = wait_for(compacted, timeout=120, what="a compacted block in the bucket")
    metrics = wait_for(
        lambda: (m := _compactor_metrics(handle)).get("thanos_compact_iterations_total", 0) >= 1 and m,
        timeout=60,
        what="the compactor's first iteration",
    )
    assert metrics["thanos_compact_halted"] == 0
    assert metrics.get('thanos_compact_group_compactions_failures_total{resolution="0"}', 0) == 0
    sources = meta["compaction"]["sources"]
    # The first 8-hour window (four blocks) becomes one block; the second holds the newest and waits.
    assert sorted(sources) == sorted(ids[:4]), (sources, ids)
    assert meta["thanos"]["labels"] == EXTERNAL_LABELS
    last = START + 8 * HOUR - STEP  # a block ends 1 ms after its last sample
    assert (int(meta["minTime"]), int(meta["maxTime"])) == (START * 1000, last * 1000 + 1)

    # A store gateway that starts now loads the compacted block next to the originals (marked for deletion,
    # kept for the deletion delay): still every sample once.
    handle.stack.stop_service("thanos-store")
    handle.stack.start_service("thanos-store")
    counts = wait_for(lambda: _per_series(handle, "count_over_time"), timeout=60, what="history after compaction")
    assert counts == {str(s): float(POINTS) for s in range(SERIES)}
    assert _per_series(handle, "sum_over_time") == {
        str(s): sum(_value(s, n) for n in range(POINTS)) for s in range(SERIES)
    }
