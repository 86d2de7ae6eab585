import logging
import sys

import pytest

import heron
from heron._internal import runtime
from heron._internal.config import HeronConfig
from heron._internal.exceptions import HeronConfigWarning, HeronInternalError
from heron._internal.guard import guarded, report_internal_error
from heron._internal.pipeline import build_otlp_pipeline
from heron._internal.resource import build_resource


class _Records(logging.Handler):
    def __init__(self):
        super().__init__()
        self.records = []

    def emit(self, record):
        self.records.append(record)


@pytest.fixture
def internal_log():
    handler = _Records()
    logger = logging.getLogger("heron.internal")
    logger.addHandler(handler)
    yield handler.records
    logger.removeHandler(handler)


def test_internal_errors_are_logged_once_per_site_and_swallowed(monkeypatch, internal_log):
    monkeypatch.delenv("HERON_SDK_RAISE_INTERNAL")

    @guarded("unit-test site", default="fallback")
    def broken():
        raise ZeroDivisionError("bug in the SDK")

    assert [broken(), broken()] == ["fallback", "fallback"]
    assert [record.getMessage() for record in internal_log] == [
        "heron: internal error in unit-test site (reported once, app unaffected)"
    ]


def test_internal_errors_raise_under_the_sdk_tests():
    with pytest.raises(HeronInternalError, match="bug"):
        report_internal_error("somewhere", RuntimeError("bug"))


def test_grpc_protocol_builds_grpc_exporters():
    config = HeronConfig(service_name="s", protocol="grpc", endpoint="http://127.0.0.1:4317")
    pipeline = build_otlp_pipeline(config, build_resource(config))
    try:
        assert type(pipeline.span_exporter.inner).__module__.startswith("opentelemetry.exporter.otlp.proto.grpc")
    finally:
        runtime.lifecycle.shutdown(pipeline, 1.0)


def test_grpc_without_its_extra_warns_and_falls_back_to_http(monkeypatch):
    monkeypatch.setitem(sys.modules, "opentelemetry.exporter.otlp.proto.grpc.trace_exporter", None)
    config = HeronConfig(service_name="s", protocol="grpc")
    with pytest.warns(HeronConfigWarning, match=r"heron-sdk\[grpc\]"):
        pipeline = build_otlp_pipeline(config, build_resource(config))
    try:
        assert type(pipeline.span_exporter.inner).__module__.startswith("opentelemetry.exporter.otlp.proto.http")
    finally:
        runtime.lifecycle.shutdown(pipeline, 1.0)


def test_a_failing_exporter_never_reaches_the_app(monkeypatch, heron_telemetry):
    monkeypatch.delenv("HERON_SDK_RAISE_INTERNAL")

    def explode(spans):
        raise OSError("disk full")

    monkeypatch.setattr(heron_telemetry._spans, "export", explode)
    with heron.span("still works") as span:
        span.set_attribute("ok", True)
    assert heron_telemetry.spans() == []
    assert runtime.current().pipeline.span_exporter.counts.dropped == 1  # counted as dropped, not raised
