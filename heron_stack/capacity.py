"""Capacity model: from measured unit costs to how many nodes each tier of the cluster topology needs.

Pure arithmetic, no I/O. `bench/bench_capacity.py` measures the unit costs on a running cluster and
docs/scaling.md shows the projection this module makes from them.

- `fit_line()` fits cost = slope * load + intercept over two or more measured load points; the slope is
  the unit cost (the intercept is a process's idle cost, paid once per node).
- `project()` turns a fleet (`Workload`), the unit costs (`UnitCosts`) and a node size (`Node`) into
  nodes per tier: collectors by CPU per sample rate, receivers by CPU and memory per active series
  (times the replication factor), queriers by CPU per rule-pack evaluation, alert workers by CPU per
  rule evaluation. Every tier is sized to use at most `Node.utilisation` of a node's cores and RAM, and
  never below its minimum for failover (two of each stateless tier, `replication_factor` receivers).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from heron_stack.exceptions import ConfigError


def _positive(field: str, value: float) -> None:
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value) or value <= 0:
        raise ConfigError(field, value, "a finite number above 0")


def _not_negative(field: str, value: float) -> None:
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value) or value < 0:
        raise ConfigError(field, value, "a finite number of 0 or more")


@dataclass(frozen=True)
class Line:
    """cost = slope * load + intercept (least squares)."""

    slope: float
    intercept: float


def fit_line(loads: Sequence[float], costs: Sequence[float]) -> Line:
    """Least-squares line through (load, cost) points; needs two or more distinct loads."""
    if len(loads) != len(costs):
        raise ConfigError("costs", len(costs), f"one cost per load ({len(loads)} loads)")
    if len(set(loads)) < 2:
        raise ConfigError("loads", list(loads), "at least two different load points")
    for i, (x, y) in enumerate(zip(loads, costs, strict=True)):
        _not_negative(f"loads[{i}]", x)
        _not_negative(f"costs[{i}]", y)
    n = len(loads)
    mx, my = sum(loads) / n, sum(costs) / n
    sxx = sum((x - mx) ** 2 for x in loads)
    sxy = sum((x - mx) * (y - my) for x, y in zip(loads, costs, strict=True))
    slope = sxy / sxx
    return Line(slope, my - slope * mx)


@dataclass(frozen=True)
class UnitCosts:
    """Measured cost per unit of each tier (bench/bench_capacity.py)."""

    collector_cores_per_10k_samples_s: float
    """Cores a collector spends passing on 10,000 samples per second."""
    receiver_cores_per_100k_series: float
    """Cores a receiver spends ingesting 100,000 active series at `Workload.interval_s`."""
    receiver_gib_per_100k_series: float
    """Resident memory a receiver holds per 100,000 active head series."""
    query_cpu_s_per_pack_per_1k_hosts: float
    """Query-tier CPU seconds to answer the rule pack's queries once, per 1,000 hosts."""
    worker_cpu_s_per_rule_per_1k_hosts: float
    """Alert-worker CPU seconds per rule evaluation, per 1,000 hosts."""
    measured_interval_s: float = 10.0
    """The agents' reporting interval the receiver CPU was measured at."""

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            _positive(name, value)


@dataclass(frozen=True)
class Workload:
    """The fleet to size for."""

    hosts: int
    series_per_host: float
    interval_s: float = 10.0
    rules: int = 16
    rule_interval_s: float = 30.0
    replication_factor: int = 3

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            _positive(name, value)
        if not isinstance(self.hosts, int):
            raise ConfigError("hosts", self.hosts, "a whole number above 0")
        if not isinstance(self.replication_factor, int):
            raise ConfigError("replication_factor", self.replication_factor, "a whole number above 0")

    @property
    def samples_per_s(self) -> float:
        return self.hosts * self.series_per_host / self.interval_s

    @property
    def stored_series(self) -> float:
        """Active series over all receivers: every series is kept `replication_factor` times."""
        return self.hosts * self.series_per_host * self.replication_factor


@dataclass(frozen=True)
class Node:
    """One machine of a tier and how much of it the model may plan to use."""

    cores: float = 8.0
    ram_gib: float = 32.0
    utilisation: float = 0.6

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            _positive(name, value)
        if self.utilisation > 1:
            raise ConfigError("utilisation", self.utilisation, "a share of the node from above 0 up to 1")

    @property
    def usable_cores(self) -> float:
        return self.cores * self.utilisation

    @property
    def usable_gib(self) -> float:
        return self.ram_gib * self.utilisation


@dataclass(frozen=True)
class Tier:
    """One tier's projected load and node count."""

    name: str
    cores: float
    ram_gib: float
    nodes: int
    bound_by: str
    """What set the count: "cpu", "ram" or "minimum"."""


MIN_STATELESS = 2
"""Collectors, queriers and alert workers run at least two each, so one can fail."""


def _nodes(name: str, cores: float, ram_gib: float, node: Node, minimum: int) -> Tier:
    by_cpu = math.ceil(cores / node.usable_cores - 1e-9)
    by_ram = math.ceil(ram_gib / node.usable_gib - 1e-9)
    if minimum > max(by_cpu, by_ram):
        return Tier(name, cores, ram_gib, minimum, "minimum")
    return Tier(name, cores, ram_gib, max(by_cpu, by_ram), "ram" if by_ram > by_cpu else "cpu")


def project(workload: Workload, costs: UnitCosts, node: Node) -> list[Tier]:
    """Nodes per tier for `workload`, from the measured `costs`, on nodes of size `node`."""
    thousands = workload.hosts / 1000
    collector_cores = workload.samples_per_s / 10_000 * costs.collector_cores_per_10k_samples_s
    # Receiver CPU goes with samples: a shorter interval than the measured one means more per series.
    series_100k = workload.stored_series / 100_000
    receiver_cores = (
        series_100k * costs.receiver_cores_per_100k_series * costs.measured_interval_s / workload.interval_s
    )
    receiver_gib = series_100k * costs.receiver_gib_per_100k_series
    query_cores = thousands * costs.query_cpu_s_per_pack_per_1k_hosts / workload.rule_interval_s
    worker_cores = workload.rules * thousands * costs.worker_cpu_s_per_rule_per_1k_hosts / workload.rule_interval_s
    return [
        _nodes("collectors", collector_cores, 0.0, node, MIN_STATELESS),
        _nodes("receivers", receiver_cores, receiver_gib, node, workload.replication_factor),
        _nodes("queriers", query_cores, 0.0, node, MIN_STATELESS),
        _nodes("alert workers", worker_cores, 0.0, node, MIN_STATELESS),
    ]
