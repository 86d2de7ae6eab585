"""Heron's span encoder writes exactly the bytes the OTLP exporter's encoder writes."""

from typing import Any

import pytest
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.exporter.otlp.proto.http import trace_exporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanLimits, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import (
    NonRecordingSpan,
    SpanContext,
    SpanKind,
    Status,
    StatusCode,
    TraceFlags,
    set_span_in_context,
)
from opentelemetry.trace.span import TraceState

from heron._internal.exporting import GuardedSpanExporter, scrub_span
from heron._internal.scrub import REDACTED, Scrubber
from heron._internal.spanwire import SpanEncoder

REMOTE_PARENT = SpanContext(
    0x0AF7651916CD43DD8448EB211C80319C,
    0xB7AD6B7169203331,
    is_remote=True,
    trace_flags=TraceFlags(TraceFlags.SAMPLED),
    trace_state=TraceState([("vendor", "abc"), ("other", "x-1")]),
)


def _spans(provider: TracerProvider, exporter: InMemorySpanExporter) -> tuple[ReadableSpan, ...]:
    tracer = provider.get_tracer("shop", "1.2.3", schema_url="https://opentelemetry.io/schemas/1.26.0")
    other = provider.get_tracer("billing")
    attributes = {
        "http.request.method": "GET",
        "url.path": "/users/ünïcode/" + "x" * 300,
        "http.response.status_code": 200,
        "negative": -5,
        "big": (1 << 63) - 1,
        "too.big": 1 << 70,
        "ratio": 0.25,
        "flag": False,
        "one": True,
        "raw": b"\x00\x01",
        "empty": "",
        "tags": ("a", "b"),
        "numbers": [1, 2, 3],
    }
    with tracer.start_as_current_span("root", kind=SpanKind.SERVER, attributes=attributes) as root:
        root.add_event("retry", {"attempt": 2, "reason": "timeout"})
        root.add_event("gave up")
        root.add_link(REMOTE_PARENT, {"link.kind": "follows"})
        root.set_status(Status(StatusCode.ERROR, "database on fire"))
        with other.start_as_current_span("child", kind=SpanKind.CLIENT) as child:
            child.set_attribute("http.request.method", "GET")
            child.set_status(StatusCode.OK)
    remote = set_span_in_context(NonRecordingSpan(REMOTE_PARENT))
    tracer.start_span("from remote", context=remote, kind=SpanKind.CONSUMER, attributes={"one": 1}).end()
    tracer.start_span("bare").end()
    return exporter.get_finished_spans()


def _provider(**kwargs: Any) -> tuple[TracerProvider, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider(**kwargs)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider, exporter


def test_every_field_encodes_as_the_otlp_exporter_does():
    provider, exporter = _provider(resource=Resource.create({"service.name": "shop"}, "https://example.test/s"))
    spans = _spans(provider, exporter)
    assert SpanEncoder().encode(spans) == encode_spans(spans).SerializeToString()


def test_dropped_counts_encode_as_the_otlp_exporter_does():
    limits = SpanLimits(max_span_attributes=2, max_events=1, max_links=0)
    provider, exporter = _provider(resource=Resource.create({"service.name": "shop"}), span_limits=limits)
    spans = _spans(provider, exporter)
    root = next(span for span in spans if span.name == "root")
    assert (root.dropped_attributes, root.dropped_events, root.dropped_links) == (11, 1, 1)
    assert SpanEncoder().encode(spans) == encode_spans(spans).SerializeToString()


def test_cached_pairs_stay_correct_across_batches_and_value_types():
    provider, exporter = _provider(resource=Resource.create({"service.name": "shop"}))
    tracer = provider.get_tracer("shop")
    encoder = SpanEncoder()
    # True, 1 and 1.0 are equal dict keys in Python; each must keep its own wire type.
    for value in (True, 1, 1.0, "1", 1, True):
        tracer.start_span("s", attributes={"v": value}).end()
        batch = exporter.get_finished_spans()[-1:]
        assert encoder.encode(batch) == encode_spans(batch).SerializeToString()


@pytest.mark.parametrize("count", [0, 1, 600])
def test_batches_of_any_size_match(count: int):
    provider, exporter = _provider(resource=Resource.create({"service.name": "shop"}))
    tracer = provider.get_tracer("shop")
    for index in range(count):
        tracer.start_span(f"GET /items/{index % 7}", attributes={"url.path": f"/items/{index}"}).end()
    spans = exporter.get_finished_spans()
    assert SpanEncoder().encode(spans) == encode_spans(spans).SerializeToString()


def _secret_spans() -> tuple[ReadableSpan, ...]:
    provider, exporter = _provider(resource=Resource.create({"service.name": "shop"}))
    tracer = provider.get_tracer("shop")
    for _ in range(2):  # the second span is encoded from the cache
        with tracer.start_as_current_span("login", attributes={"user.password": "hunter2", "url.path": "/a"}) as span:
            span.set_attribute("db.url", "postgres://app:s3cret@db/shop")
            span.add_event("exception", {"exception.message": "bad token=abc123 for user"})
    return exporter.get_finished_spans()


def test_scrubbing_while_encoding_matches_scrubbed_copies():
    spans, scrubber = _secret_spans(), Scrubber()
    expected = encode_spans([scrub_span(span, scrubber) for span in spans]).SerializeToString()
    assert SpanEncoder(scrubber).encode(spans) == expected


def test_otlp_http_export_sends_heron_encoded_scrubbed_spans(http_server, monkeypatch):
    def exporter_encoder(spans):
        raise AssertionError("the OTLP exporter's own encoder was used")

    monkeypatch.setattr(trace_exporter, "encode_spans", exporter_encoder)
    endpoint = f"http://127.0.0.1:{http_server.server_address[1]}/v1/traces"
    exporter = GuardedSpanExporter(lambda: OTLPSpanExporter(endpoint=endpoint), Scrubber())
    assert exporter.export(_secret_spans()) is SpanExportResult.SUCCESS
    (body,) = http_server.bodies
    request = ExportTraceServiceRequest.FromString(body)
    (span, _) = request.resource_spans[0].scope_spans[0].spans
    attributes = {kv.key: kv.value.string_value for kv in span.attributes}
    assert attributes == {"user.password": REDACTED, "url.path": "/a", "db.url": f"postgres://app:{REDACTED}@db/shop"}
    assert span.events[0].attributes[0].value.string_value == f"bad token={REDACTED} for user"
    assert exporter.counts.exported == 2
