"""The end-to-end canary: one OTLP gauge and one log record, uniquely labelled,
followed into Prometheus and VictoriaLogs.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass

from google.protobuf.message import DecodeError  # type: ignore[import-untyped]  # protobuf ships no stubs
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest, ExportLogsServiceResponse
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, InstrumentationScope, KeyValue
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord, ResourceLogs, ScopeLogs, SeverityNumber
from opentelemetry.proto.metrics.v1.metrics_pb2 import Gauge, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics
from opentelemetry.proto.resource.v1.resource_pb2 import Resource

SERVICE = "heron-doctor"
METRIC = "heron.doctor.canary"
PROM_METRIC = "heron_doctor_canary"
ID_ATTRIBUTE = "heron.doctor.canary"
ID_LABEL = "heron_doctor_canary"
SCOPE = InstrumentationScope(name="heron.doctor")


@dataclass(frozen=True)
class Canary:
    id: str
    value: float
    time_ns: int

    @classmethod
    def new(cls, time_ns: int) -> Canary:
        return cls(uuid.uuid4().hex[:16], round(random.uniform(1, 1000), 6), time_ns)  # noqa: S311 - not a secret

    @property
    def promql(self) -> str:
        return f'{PROM_METRIC}{{{ID_LABEL}="{self.id}"}}'

    @property
    def logsql(self) -> str:
        return f'{{service.name="{SERVICE}"}} "{self.id}"'

    @property
    def message(self) -> str:
        return f"heron doctor canary {self.id}"


def _resource(canary: Canary) -> Resource:
    def attr(key: str, value: str) -> KeyValue:
        return KeyValue(key=key, value=AnyValue(string_value=value))

    return Resource(attributes=[attr("service.name", SERVICE), attr(ID_ATTRIBUTE, canary.id)])


def metric_request(canary: Canary) -> bytes:
    point = NumberDataPoint(time_unix_nano=canary.time_ns, as_double=canary.value)
    metric = Metric(name=METRIC, description="heron doctor end-to-end canary", gauge=Gauge(data_points=[point]))
    scope = ScopeMetrics(scope=SCOPE, metrics=[metric])
    request = ExportMetricsServiceRequest(
        resource_metrics=[ResourceMetrics(resource=_resource(canary), scope_metrics=[scope])]
    )
    return bytes(request.SerializeToString())


def log_request(canary: Canary) -> bytes:
    record = LogRecord(
        time_unix_nano=canary.time_ns,
        observed_time_unix_nano=canary.time_ns,
        severity_number=SeverityNumber.SEVERITY_NUMBER_INFO,
        severity_text="INFO",
        body=AnyValue(string_value=canary.message),
    )
    scope = ScopeLogs(scope=SCOPE, log_records=[record])
    request = ExportLogsServiceRequest(resource_logs=[ResourceLogs(resource=_resource(canary), scope_logs=[scope])])
    return bytes(request.SerializeToString())


def partial_rejection(signal: str, body: bytes) -> str | None:
    """The collector's partial-success message, when it rejected part of an accepted request."""
    try:
        if signal == "metrics":
            m = ExportMetricsServiceResponse.FromString(body).partial_success
            count, message = m.rejected_data_points, m.error_message
        else:
            lg = ExportLogsServiceResponse.FromString(body).partial_success
            count, message = lg.rejected_log_records, lg.error_message
    except DecodeError:
        return None
    return f"{count} rejected: {message}" if count else None
