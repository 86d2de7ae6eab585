"""Start server spans without the SDK tracer's generic work, for the per-request hot path.

`Tracer.start_span` spends most of its time on things a server span at default settings does not need:
a sampler call that always says "record", a limits-checking copy of attributes Heron built itself, and
tracer self-metrics that are off; at the end, a read-only copy for the processors. When the tracer is in
that default state, the span is built here directly as an ordinary SDK span (so user code sees the usual
API and the processors the usual span), with what all spans share kept on a per-tracer subclass; any
other state (custom sampler, attribute length limit, unsampled parent, disabled tracer, SDK
self-metrics on) takes the SDK's own path.
"""

from __future__ import annotations

import logging
import threading
from time import time_ns
from typing import Any, cast

from opentelemetry import trace
from opentelemetry.attributes import BoundedAttributes
from opentelemetry.context import Context
from opentelemetry.sdk.trace import Event, sampling
from opentelemetry.sdk.trace import Span as SdkSpan
from opentelemetry.sdk.trace import Tracer as SdkTracer
from opentelemetry.sdk.trace._tracer_metrics import NoOpTracerMetrics
from opentelemetry.sdk.util import BoundedList
from opentelemetry.trace import Link, SpanContext, SpanKind, TraceFlags
from opentelemetry.trace.status import Status, StatusCode

_UNSET = Status(StatusCode.UNSET)
_NONE: tuple[()] = ()
_logger = logging.getLogger(__name__)
_MAX_HERON_ATTRIBUTES = 8  # the most a Heron server span sets itself, plus room
_ROOT_FLAGS = TraceFlags(TraceFlags.SAMPLED | TraceFlags.RANDOM_TRACE_ID)
_SAMPLED = TraceFlags(TraceFlags.SAMPLED)


class ServerSpan(SdkSpan):
    """An SDK span made by `start_server_span`, which assigns its fields instead of checking them."""

    def _add_event(self, event: Event) -> None:
        with self._lock:
            if self._events is _NONE and self._end_time is None:
                self._events = BoundedList(self._limits.max_events)
        super()._add_event(event)

    def _add_link(self, link: Link) -> None:
        with self._lock:
            if self._links is _NONE and self._end_time is None:
                self._links = BoundedList(self._limits.max_links)
        super()._add_link(link)

    def end_with_status_code(self, status_code: int) -> None:
        """Set http.response.status_code (an int from the status line: nothing to clean) and end."""
        with self._lock:
            bounded = cast(BoundedAttributes, self._attributes)
            limit = self._limits.max_span_attributes
            done = self._end_time is None and (limit is None or len(bounded._dict) < limit)
            if done:
                bounded._dict["http.response.status_code"] = status_code
                bounded._immutable = True
                self._end_time = time_ns()
        if not done:  # ended or full: the SDK's own rules (a warning, or evicting the oldest)
            self.set_attribute("http.response.status_code", status_code)
            self.end()
            return
        self._span_processor._on_ending(self)
        self._span_processor.on_end(self)

    def end(self, end_time: int | None = None) -> None:
        """As the SDK span ends, but handing processors the span itself: once ended, it no longer changes."""
        with self._lock:
            if self._end_time is not None:
                _logger.warning("Calling end() on an ended span.")
                return
            self._end_time = end_time if end_time is not None else time_ns()
            cast(BoundedAttributes, self._attributes)._immutable = True
        self._span_processor._on_ending(self)
        self._span_processor.on_end(self)


class _Template:
    """What every fast span of one SDK tracer shares, read from the tracer once."""

    def __init__(self, tracer: SdkTracer) -> None:
        limits = tracer._span_limits
        self.tracer = tracer
        ids = tracer.id_generator
        self.new_trace_id, self.new_span_id = ids.generate_trace_id, ids.generate_span_id
        self.root_flags = _ROOT_FLAGS if ids.is_trace_id_random() else _SAMPLED
        self.processor = tracer.span_processor
        # What all spans share lives on per-tracer subclasses, so making a span sets only its own fields.
        shared: dict[str, Any] = {
            "_kind": SpanKind.SERVER,
            "_instrumentation_info": tracer.instrumentation_info,
            "_instrumentation_scope": tracer._instrumentation_scope,
            "_end_time": None,
            "_resource": tracer.resource,
            "_status": _UNSET,
            "_sampler": tracer.sampler,
            "_trace_config": None,
            "_record_exception": True,
            "_set_status_on_exception": True,
            "_span_processor": tracer.span_processor,
            "_limits": limits,
            # Most server spans get no events or links: the bounded lists are made on first use.
            "_events": _NONE,
            "_links": _NONE,
            "_record_end_metrics": None,
        }
        self.span_class: type[ServerSpan] = type("ServerSpan", (ServerSpan,), shared)
        self.attributes_class: type[BoundedAttributes] = type(
            "ServerSpanAttributes",
            (BoundedAttributes,),
            {"maxlen": limits.max_span_attributes, "dropped": 0, "max_value_len": None, "_immutable": False},
        )
        self.eligible = (
            tracer.sampler is sampling.DEFAULT_ON
            and type(tracer._tracer_metrics) is NoOpTracerMetrics
            and limits.max_span_attribute_length is None
            and (limits.max_span_attributes is None or limits.max_span_attributes >= _MAX_HERON_ATTRIBUTES)
        )

    def span(
        self, name: str, context: SpanContext, parent: SpanContext | None, attributes: dict[str, Any], start: int
    ) -> ServerSpan:
        bounded = object.__new__(self.attributes_class)
        bounded._dict = attributes
        bounded._lock = threading.Lock()
        span = object.__new__(self.span_class)
        span._name = name
        span._context = context
        span._parent = parent
        span._start_time = start
        span._lock = threading.Lock()
        span._attributes = bounded
        return span


_template: _Template | None = None


def _template_for(tracer: trace.Tracer) -> _Template | None:
    """The template of the SDK tracer behind `tracer`, when that tracer is in the state the fast path copies."""
    global _template  # noqa: PLW0603 - one cached template, replaced when the pipeline is swapped
    delegate = getattr(tracer, "delegate", tracer)  # Heron's proxy tracer, or an SDK tracer itself
    template = _template
    if template is None or template.tracer is not delegate:
        if type(delegate) is not SdkTracer:
            return None
        template = _template = _Template(delegate)
    return template if template.eligible and delegate._is_enabled() else None


def start_server_span(
    tracer: trace.Tracer, name: str, parent: Context | None, attributes: dict[str, Any], start_time: int | None = None
) -> trace.Span:
    """A started SERVER span, as `tracer.start_span(name, parent, SpanKind.SERVER, attributes)` would return.

    The span takes ownership of `attributes`: str and int values built by Heron, nothing to clean.
    """
    template = _template_for(tracer)
    parent_context = trace.get_current_span(parent).get_span_context()
    if template is None or (parent_context.is_valid and not parent_context.trace_flags.sampled):
        return tracer.start_span(name, parent, SpanKind.SERVER, attributes, start_time=start_time)
    if parent_context.is_valid:
        flags = _ROOT_FLAGS if parent_context.trace_flags.random_trace_id else _SAMPLED
        span_id = template.new_span_id()
        span_context = SpanContext(parent_context.trace_id, span_id, False, flags, parent_context.trace_state)
        parent_span: SpanContext | None = parent_context
    else:
        span_context = SpanContext(template.new_trace_id(), template.new_span_id(), False, template.root_flags)
        parent_span = None
    start = start_time if start_time is not None else time_ns()
    span = template.span(name, span_context, parent_span, attributes, start)
    template.processor.on_start(span, parent_context=parent)
    return span
