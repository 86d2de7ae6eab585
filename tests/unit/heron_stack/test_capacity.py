"""The capacity model: line fits and node counts per tier, checked against hand-computed cases."""

from __future__ import annotations

import math

import pytest

from heron_stack.capacity import Node, UnitCosts, Workload, fit_line, project
from heron_stack.exceptions import ConfigError

COSTS = UnitCosts(
    collector_cores_per_10k_samples_s=0.5,
    receiver_cores_per_100k_series=0.2,
    receiver_gib_per_100k_series=0.5,
    query_cpu_s_per_pack_per_1k_hosts=0.3,
    worker_cpu_s_per_rule_per_1k_hosts=0.01,
)
NODE = Node(cores=8, ram_gib=32, utilisation=0.5)  # 4 usable cores, 16 usable GiB


def test_fit_line_recovers_slope_and_intercept() -> None:
    line = fit_line([1000, 2000, 4000], [1.5, 2.5, 4.5])
    assert math.isclose(line.slope, 0.001)
    assert math.isclose(line.intercept, 0.5)


def test_fit_line_needs_two_different_loads() -> None:
    with pytest.raises(ConfigError, match="at least two different load points"):
        fit_line([1000, 1000], [1.0, 2.0])


def test_fit_line_rejects_negative_cost_naming_it() -> None:
    with pytest.raises(ConfigError, match=r"costs\[1\]=-2\.0"):
        fit_line([1, 2], [1.0, -2.0])


def test_100k_hosts_by_hand() -> None:
    # 100,000 hosts x 200 series every 10 s = 2,000,000 samples/s -> 200 x 0.5 = 100 cores -> 25 nodes of 4.
    # Stored series 100,000 x 200 x 3 = 60,000,000 = 600 x 100k -> 120 cores (30 nodes), 300 GiB (19 nodes).
    # Query: 100 x 0.3 s per 30 s = 1 core -> minimum 2. Workers: 16 x 100 x 0.01 / 30 = 0.53 core -> 2.
    tiers = {t.name: t for t in project(Workload(hosts=100_000, series_per_host=200), COSTS, NODE)}
    assert math.isclose(tiers["collectors"].cores, 100.0)
    assert tiers["collectors"].nodes == 25
    assert tiers["collectors"].bound_by == "cpu"
    assert math.isclose(tiers["receivers"].cores, 120.0)
    assert math.isclose(tiers["receivers"].ram_gib, 300.0)
    assert tiers["receivers"].nodes == 30
    assert math.isclose(tiers["queriers"].cores, 1.0)
    assert (tiers["queriers"].nodes, tiers["queriers"].bound_by) == (2, "minimum")
    assert tiers["alert workers"].nodes == 2


def test_memory_bound_receivers() -> None:
    costs = UnitCosts(0.5, 0.01, 4.0, 0.3, 0.01)
    # 10,000 x 100 x 3 = 3,000,000 series = 30 x 100k -> 120 GiB / 16 usable = 7.5 -> 8 nodes (CPU: 0.3 core).
    receivers = next(
        t for t in project(Workload(hosts=10_000, series_per_host=100), costs, NODE) if t.name == "receivers"
    )
    assert (receivers.nodes, receivers.bound_by) == (8, "ram")


def test_small_fleet_keeps_replication_factor_receivers() -> None:
    receivers = next(t for t in project(Workload(hosts=10, series_per_host=100), COSTS, NODE) if t.name == "receivers")
    assert (receivers.nodes, receivers.bound_by) == (3, "minimum")


def test_shorter_interval_costs_receivers_more_cpu() -> None:
    at_10 = project(Workload(hosts=10_000, series_per_host=200), COSTS, NODE)[1].cores
    at_5 = project(Workload(hosts=10_000, series_per_host=200, interval_s=5), COSTS, NODE)[1].cores
    assert math.isclose(at_5, 2 * at_10)


@pytest.mark.parametrize("field", ["hosts", "series_per_host", "interval_s", "rule_interval_s"])
@pytest.mark.parametrize("bad", [0, -1])
def test_workload_rejects_zero_and_negative(field: str, bad: int) -> None:
    kwargs: dict[str, float] = {"hosts": 1000, "series_per_host": 200, field: bad}
    with pytest.raises(ConfigError, match=rf"{field}={bad} is not valid: a finite number above 0"):
        Workload(**kwargs)  # type: ignore[arg-type]  # kwargs mixes int and float fields on purpose


def test_unit_costs_reject_zero() -> None:
    with pytest.raises(ConfigError, match="receiver_gib_per_100k_series=0"):
        UnitCosts(0.5, 0.2, 0, 0.3, 0.01)


def test_node_rejects_utilisation_over_one() -> None:
    with pytest.raises(ConfigError, match=r"utilisation=1\.5"):
        Node(utilisation=1.5)


def test_node_rejects_nan_cores() -> None:
    with pytest.raises(ConfigError, match="cores=nan"):
        Node(cores=math.nan)
