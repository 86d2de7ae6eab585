"""Server spans from Heron's fast path look exactly like the SDK tracer's, and the fast path steps aside when
the tracer is not in its default state."""

from typing import Any

from opentelemetry import context, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanLimits, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF
from opentelemetry.trace import NonRecordingSpan, SpanContext, SpanKind, StatusCode, TraceFlags
from opentelemetry.trace.span import TraceState

from heron._internal.fastspan import ServerSpan, start_server_span

ATTRIBUTES = {"http.request.method": "GET", "url.path": "/users/7", "url.scheme": "http", "http.route": "/u"}


def _tracer(**kwargs: Any) -> tuple[trace.Tracer, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "shop"}), **kwargs)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider.get_tracer("heron.flask", "1.0"), exporter


def _remote(flags: int, state: TraceState | None = None) -> context.Context:
    parent = SpanContext(0x0AF7651916CD43DD8448EB211C80319C, 0xB7AD6B7169203331, True, TraceFlags(flags), state)
    return trace.set_span_in_context(NonRecordingSpan(parent))


def _both(parent: context.Context | None, **kwargs: object) -> tuple[ReadableSpan, ReadableSpan]:
    """The same span through the SDK tracer and through the fast path, each ended with status 200."""
    tracer, exporter = _tracer(**kwargs)
    sdk = tracer.start_span("GET /u", parent, SpanKind.SERVER, dict(ATTRIBUTES), start_time=1)
    sdk.set_attribute("http.response.status_code", 200)
    sdk.end()
    fast = start_server_span(tracer, "GET /u", parent, dict(ATTRIBUTES), 1)
    assert isinstance(fast, ServerSpan)
    fast.end_with_status_code(200)
    sdk_span, fast_span = exporter.get_finished_spans()
    return sdk_span, fast_span


def _same(sdk: ReadableSpan, fast: ReadableSpan) -> None:
    assert (fast.name, fast.kind, fast.start_time, fast.status.status_code) == (
        sdk.name,
        sdk.kind,
        sdk.start_time,
        sdk.status.status_code,
    )
    assert dict(fast.attributes or {}) == dict(sdk.attributes or {})
    assert fast.parent == sdk.parent
    assert fast.context.trace_flags == sdk.context.trace_flags
    assert fast.context.trace_state == sdk.context.trace_state
    assert (fast.resource, fast.instrumentation_scope) == (sdk.resource, sdk.instrumentation_scope)
    assert (fast.events, fast.links, fast.dropped_attributes) == ((), (), 0)


def test_root_span_matches_the_sdk_tracer():
    sdk, fast = _both(None)
    _same(sdk, fast)
    assert fast.parent is None
    assert fast.context.trace_id != sdk.context.trace_id


def test_remote_parent_trace_and_state_are_kept():
    parent = _remote(TraceFlags.SAMPLED, TraceState([("vendor", "abc")]))
    sdk, fast = _both(parent)
    _same(sdk, fast)
    assert fast.context.trace_id == 0x0AF7651916CD43DD8448EB211C80319C
    assert fast.parent is not None
    assert fast.parent.is_remote


def test_unsampled_parent_or_a_custom_sampler_records_nothing():
    tracer, exporter = _tracer()
    unsampled = start_server_span(tracer, "GET /u", _remote(TraceFlags.DEFAULT), dict(ATTRIBUTES))
    assert not unsampled.is_recording()
    tracer, exporter = _tracer(sampler=ALWAYS_OFF)
    assert not start_server_span(tracer, "GET /u", None, dict(ATTRIBUTES)).is_recording()
    assert exporter.get_finished_spans() == ()


def test_attribute_length_limit_takes_the_sdk_path_and_truncates():
    tracer, exporter = _tracer(span_limits=SpanLimits(max_span_attribute_length=4))
    span = start_server_span(tracer, "GET /u", None, dict(ATTRIBUTES))
    assert not isinstance(span, ServerSpan)
    span.end()
    assert exporter.get_finished_spans()[0].attributes["url.path"] == "/use"


def test_app_code_can_use_the_current_server_span():
    tracer, exporter = _tracer(span_limits=SpanLimits(max_span_attributes=8))
    span = start_server_span(tracer, "GET /u", None, dict(ATTRIBUTES))
    with trace.use_span(span, end_on_exit=False):
        current = trace.get_current_span()
        current.set_attributes({"user.id": 7, "user.plan": "pro", "cart.items": 3, "cart.total": 9.5})  # full: 8
        current.add_event("cache miss", {"key": "u7"})
        current.record_exception(ValueError("bad id"))
        current.set_status(StatusCode.ERROR)
        with tracer.start_as_current_span("db") as child:
            pass
    assert isinstance(span, ServerSpan)
    span.end_with_status_code(500)  # over the limit: the oldest attribute goes, as in the SDK
    db, server = exporter.get_finished_spans()
    assert db.parent is not None
    assert child.parent is not None
    assert server.context is not None
    assert server.attributes is not None
    assert db.parent.span_id == server.context.span_id == child.parent.span_id
    assert [event.name for event in server.events] == ["cache miss", "exception"]
    assert server.status.status_code is StatusCode.ERROR
    assert "http.request.method" not in server.attributes
    assert server.attributes["http.response.status_code"] == 500
    assert server.dropped_attributes == 1


def test_ending_twice_exports_once():
    tracer, exporter = _tracer()
    span = start_server_span(tracer, "GET /u", None, dict(ATTRIBUTES))
    assert isinstance(span, ServerSpan)
    span.end_with_status_code(200)
    span.end()
    assert len(exporter.get_finished_spans()) == 1
    assert not span.is_recording()
