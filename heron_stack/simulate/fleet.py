"""A fleet of synthetic hosts turned into OTLP requests with the agent's own pipeline and encoder.

Each host has its own agent `Pipeline` (so CPU utilization comes from time deltas exactly as on a real
host) and its own `Encoder` (its resource, cached attribute messages). Several hosts share one request:
an ExportMetricsServiceRequest holds one ResourceMetrics per host.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest

from heron_stack.simulate.host import SyntheticHost
from heron_stack.simulate.profiles import HostProfile, resource_for
from otel_agent.collectors.pipeline import Pipeline
from otel_agent.encoding import Encoder
from otel_agent.models import Cycle, Point


@dataclass(frozen=True)
class Batch:
    """One request's worth of hosts, encoded."""

    hosts: tuple[int, ...]
    request: ExportMetricsServiceRequest
    points: int
    time_ns: int
    counts: tuple[int, ...] = ()
    """Points per host, in the order of `hosts`."""

    def encoded(self) -> Encoded:
        """The request serialized, ready to send (the message itself is not kept)."""
        return Encoded(self.hosts, self.request.SerializeToString(), self.points, self.time_ns, self.counts)


@dataclass(frozen=True)
class Encoded:
    """One request's worth of hosts as the bytes sent: what the simulator's senders take."""

    hosts: tuple[int, ...]
    body: bytes
    points: int
    time_ns: int
    counts: tuple[int, ...] = ()


class _Member:
    __slots__ = ("encoder", "exported", "failures", "host", "pipeline")

    def __init__(self, host: SyntheticHost, encoder: Encoder) -> None:
        self.host = host
        self.encoder = encoder
        self.pipeline = Pipeline()
        self.exported = 0
        self.failures = 0


def plan_batches(count: int, per_request: int) -> list[tuple[int, ...]]:
    """Host indices grouped `per_request` at a time, in order."""
    return [tuple(range(i, min(i + per_request, count))) for i in range(0, count, per_request)]


class Fleet:
    """The synthetic hosts, each with the agent's pipeline and encoder; `keep` (a metric name -> bool)
    limits what they send, e.g. to the families a rule pack reads."""

    def __init__(
        self,
        profiles: Sequence[HostProfile],
        *,
        service_name: str = "otel-agent",
        version: str = "",
        attributes: Mapping[str, str] | None = None,
        start_s: float | None = None,
        keep: Callable[[str], bool] | None = None,
    ) -> None:
        start = time.time() if start_s is None else start_s
        self._keep = keep
        extra = dict(attributes or {})
        self._service_name, self._version, self._attributes = service_name, version, extra
        self.started_ns = int(start * 1e9)
        self.members = [
            _Member(SyntheticHost(p, start), Encoder(resource_for(p, service_name, version, extra), version))
            for p in profiles
        ]

    def head(self, count: int) -> Fleet:
        """A new fleet of this one's first `count` hosts (fresh state): to time encoding without
        advancing this fleet's pipelines."""
        profiles = [m.host.profile for m in self.members[:count]]
        name, version = self._service_name, self._version
        return Fleet(profiles, service_name=name, version=version, attributes=self._attributes, keep=self._keep)

    def __len__(self) -> int:
        return len(self.members)

    def resource(self, index: int) -> dict[str, str]:
        """Resource attributes of host `index`, as encoded."""
        rm = self.members[index].encoder.encode([]).resource_metrics[0]
        return {kv.key: kv.value.string_value for kv in rm.resource.attributes}

    def cycle(self, index: int, time_ns: int) -> Cycle:
        """Host `index`'s readings at `time_ns` turned into one agent cycle (self-metrics included)."""
        m = self.members[index]
        readings = m.host.read_at(time_ns)
        points, _ = m.pipeline.build(readings)
        s = self.started_ns
        # The agent's self-metrics, so the pipeline dashboard shows simulated agents like real ones.
        points += (
            Point("otel_agent.cycle.duration", (), 0.002 + 0.001 * m.host.profile.cores / 8),
            Point("otel_agent.points.exported", (), m.exported, s),
            Point("otel_agent.export.failures", (), m.failures, s),
            Point("otel_agent.buffer.depth", (), 0),
            Point("otel_agent.buffer.size", (), 0),
            Point("otel_agent.points.dropped", (("reason", "buffer_full"),), 0, s),
            Point("otel_agent.points.dropped", (("reason", "cardinality"),), 0, s),
        )
        if self._keep is not None:
            points = [p for p in points if self._keep(p.name)]
        return Cycle(time_ns, int(m.host.boot_time * 1e9), points)

    def batch(self, hosts: Sequence[int], time_ns: int | None = None) -> Batch:
        """Read and encode `hosts` into one request; all of them stamped with the same time."""
        t = time.time_ns() if time_ns is None else time_ns
        request = ExportMetricsServiceRequest()
        resource_metrics = request.resource_metrics
        counts = []
        for i in hosts:
            cycle = self.cycle(i, t)
            counts.append(len(cycle.points))
            resource_metrics.extend(self.members[i].encoder.encode([cycle]).resource_metrics)
        return Batch(tuple(hosts), request, sum(counts), t, tuple(counts))

    def settle(self, batch: Batch | Encoded, ok: bool) -> None:
        """Record a batch's delivery in each host's self-metrics."""
        for i, count in zip(batch.hosts, batch.counts, strict=True):
            m = self.members[i]
            if ok:
                m.exported += count
            else:
                m.failures += 1
