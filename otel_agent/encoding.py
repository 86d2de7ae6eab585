"""Cycles straight to an OTLP ExportMetricsServiceRequest (protobuf), without SDK objects in between.

Building the protobuf messages directly, with attribute key/values reused across cycles, costs about a
third of building SDK MetricsData and encoding it with the exporter's generic encoder.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, InstrumentationScope, KeyValue
from opentelemetry.proto.metrics.v1 import metrics_pb2 as pb
from opentelemetry.proto.resource.v1.resource_pb2 import Resource

from otel_agent.collectors.naming import info_for
from otel_agent.models import AttrValue, Cycle, Kind, Point

SCOPE_NAME = "otel_agent"
SCHEMA_URL = "https://opentelemetry.io/schemas/1.37.0"
CUMULATIVE = pb.AGGREGATION_TEMPORALITY_CUMULATIVE
_MAX_CACHED = 20_000


def _any(value: AttrValue) -> AnyValue:
    return AnyValue(int_value=value) if isinstance(value, int) else AnyValue(string_value=str(value))


class Encoder:
    """Encodes cycles for one resource; remembers attribute messages it has built before."""

    def __init__(self, resource: Mapping[str, str], version: str = "") -> None:
        self._resource = Resource(attributes=[KeyValue(key=k, value=_any(v)) for k, v in resource.items()])
        self._scope = InstrumentationScope(name=SCOPE_NAME, version=version)
        self._kv: dict[tuple[str, AttrValue], KeyValue] = {}

    def _attr(self, key: str, value: AttrValue) -> KeyValue:
        kv = self._kv.get((key, value))
        if kv is None:
            if len(self._kv) >= _MAX_CACHED:  # churning values (pids, mounts) must not grow the cache forever
                self._kv.clear()
            kv = self._kv[(key, value)] = KeyValue(key=key, value=_any(value))
        return kv

    def serialize(self, cycles: Sequence[Cycle]) -> bytes:
        """The wire bytes of one request for several cycles, built one cycle at a time.

        Serialized protobuf messages of one type concatenate into one message whose repeated fields are
        joined, so this is a valid request with one ResourceMetrics per cycle. Only one cycle's message
        tree exists at a time: a catch-up request of 30 cycles costs its bytes (about 0.5 MiB on a
        typical host) instead of the 6 MiB or more the tree of all 30 would hold.
        """
        return b"".join(self.encode([cycle]).SerializeToString() for cycle in cycles)

    def encode(self, cycles: Sequence[Cycle]) -> ExportMetricsServiceRequest:
        """One request message for several cycles; every point keeps the timestamp of the cycle that read it."""
        by_name: dict[str, list[tuple[Cycle, Point]]] = {}
        for cycle in cycles:
            for p in cycle.points:
                by_name.setdefault(p.name, []).append((cycle, p))
        attr = self._attr
        metrics = []
        for name, points in by_name.items():
            info = info_for(name)
            if info is None:
                continue
            metric = pb.Metric(name=name, description=info.description, unit=info.unit)
            if info.kind is Kind.GAUGE:
                data_points = metric.gauge.data_points
            else:
                data_points = metric.sum.data_points
                metric.sum.aggregation_temporality = CUMULATIVE
                metric.sum.is_monotonic = info.kind is Kind.COUNTER
            for cycle, p in points:
                value = p.value
                dp = data_points.add(
                    attributes=[attr(k, v) for k, v in p.attrs],
                    start_time_unix_nano=p.start_ns or cycle.start_ns,
                    time_unix_nano=cycle.time_ns,
                )
                if isinstance(value, int):
                    dp.as_int = value
                else:
                    dp.as_double = value
            metrics.append(metric)
        scope_metrics = pb.ScopeMetrics(scope=self._scope, metrics=metrics, schema_url=SCHEMA_URL)
        resource_metrics = pb.ResourceMetrics(
            resource=self._resource, scope_metrics=[scope_metrics], schema_url=SCHEMA_URL
        )
        return ExportMetricsServiceRequest(resource_metrics=[resource_metrics])
