"""Encode a span batch as an OTLP ExportTraceServiceRequest, byte for byte as the OTLP exporter does.

The exporter's encoder builds a protobuf message object per span, attribute and value, then serializes
them: about 50 µs per server span, which on a small machine competes with the app for the GIL. Here the
common fields are written straight to the wire format, and what repeats between spans (resource, scope,
attribute pairs such as `http.request.method=GET`) is encoded, and scrubbed of secrets, once and reused.
Rare parts (events, links, array or map attribute values) go through the exporter's own message
encoders. A unit test checks the output against `encode_spans` for every kind of field.
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Mapping, Sequence
from typing import Any

from opentelemetry.exporter.otlp.proto.common._internal import (
    _encode_instrumentation_scope,
    _encode_key_value,
    _encode_resource,
)
from opentelemetry.exporter.otlp.proto.common._internal.trace_encoder import _encode_events, _encode_links
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import SpanKind, StatusCode

from heron._internal.scrub import Scrubber

_logger = logging.getLogger(__name__)
_FIXED64 = struct.Struct("<Q")
_DOUBLE = struct.Struct("<d")
_KIND = {kind: bytes((0x30, kind.value + 1)) for kind in SpanKind}
# Span.flags (field 16, fixed32): "has is_remote" always, plus "is remote" for a remote parent.
_FLAGS_LOCAL = b"\x85\x01" + (0x100).to_bytes(4, "little")
_FLAGS_REMOTE = b"\x85\x01" + (0x300).to_bytes(4, "little")
_STATUS_ONLY = b"\x7a\x00"  # an empty Status: the exporter always writes one
_CACHE_LIMIT = 4096
_INT64_MIN, _INT64_MAX = -(1 << 63), (1 << 63) - 1
# Exact types only: True == 1 == 1.0 share a hash, so the type is part of the cache key.
_SCALARS = frozenset({str, bool, int, float})
_ONE_BYTE = [bytes((value,)) for value in range(0x80)]


def _varint(value: int) -> bytes:
    if value < 0x80:
        return _ONE_BYTE[value]
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _field(tag: int, payload: bytes) -> bytes:
    """A length-delimited field: its tag byte(s), the payload length, the payload."""
    return _varint(tag) + _varint(len(payload)) + payload


def _repeated(tag: int, messages: Sequence[Any] | None, dropped_tag: bytes, dropped: int) -> bytes:
    """A repeated message field (events, links) and the count of those dropped."""
    out = b"".join(_field(tag, message.SerializeToString()) for message in messages or ())
    return out + dropped_tag + _varint(dropped) if dropped else out


def _any_value(value: Any) -> bytes | None:
    """AnyValue bytes for scalar values; None for what the exporter's own encoder must handle."""
    if isinstance(value, str):
        return _field(0x0A, value.encode())
    if isinstance(value, bool):
        return b"\x10\x01" if value else b"\x10\x00"
    if isinstance(value, int):
        return _int_value(value)
    if isinstance(value, float):
        return b"\x21" + _DOUBLE.pack(value)
    if isinstance(value, bytes):
        return _field(0x3A, value)
    return None


def _int_value(value: int) -> bytes | None:
    if not _INT64_MIN <= value <= _INT64_MAX:
        return None  # out of int64 range: the exporter's encoder logs and skips it
    return b"\x18" + _varint(value if value >= 0 else value + (1 << 64))


def _key_value(key: str, value: Any) -> bytes | None:
    any_value = _any_value(value)
    if any_value is None:
        try:
            return bytes(_encode_key_value(key, value).SerializeToString())
        except Exception:  # the exporter logs and skips such an attribute too
            _logger.exception("Failed to encode key %s", key)
            return None
    return _field(0x0A, key.encode()) + _field(0x12, any_value)


def _scrub_event(event: Event, scrubber: Scrubber) -> Event:
    attributes = scrubber.attributes(event.attributes)
    return event if attributes is None else Event(event.name, attributes, event.timestamp)


class SpanEncoder:
    """Reusable encoder; keeps caches, so one instance per exporting thread."""

    def __init__(self, scrubber: Scrubber | None = None) -> None:
        """With a `scrubber`, attribute values and event attributes are scrubbed as they are encoded."""
        self._scrubber = scrubber
        self._pairs: dict[tuple[str, type, Any], bytes] = {}
        self._names: dict[tuple[str, SpanKind], bytes] = {}
        self._resources: dict[int, tuple[Resource, bytes]] = {}
        self._scopes: dict[int, tuple[InstrumentationScope | None, bytes]] = {}

    def encode(self, spans: Sequence[ReadableSpan]) -> bytes:
        """The serialized ExportTraceServiceRequest for `spans`."""
        groups: dict[int, tuple[Resource, dict[int, tuple[InstrumentationScope | None, list[bytes]]]]] = {}
        for span in spans:
            resource = span.resource
            scope = span.instrumentation_scope or None
            by_scope = groups.get(id(resource))
            if by_scope is None:
                by_scope = groups[id(resource)] = (resource, {})
            scoped = by_scope[1].get(id(scope))
            if scoped is None:
                scoped = by_scope[1][id(scope)] = (scope, [])
            scoped[1].append(self.span(span))
        out = bytearray()
        for resource, scopes in groups.values():
            body = bytearray(self._resource(resource))
            for scope, encoded in scopes.values():
                scope_body = self._scope(scope) + b"".join(encoded)
                if scope is not None and scope.schema_url:
                    scope_body += _field(0x1A, scope.schema_url.encode())
                body += _field(0x12, scope_body)
            if resource.schema_url:
                body += _field(0x1A, resource.schema_url.encode())
            out += _field(0x0A, bytes(body))
        return bytes(out)

    def span(self, span: ReadableSpan) -> bytes:
        """One `spans` entry of ScopeSpans (field 2), tag included."""
        # The span's fields are read directly: the public properties copy (events, links) or wrap
        # (attributes) on every access, which costs more than encoding a server span.
        context = span._context
        assert context is not None
        parent = span._parent
        out = bytearray(b"\x0a\x10")
        out += context.trace_id.to_bytes(16, "big")
        out += b"\x12\x08"
        out += context.span_id.to_bytes(8, "big")
        trace_state = context.trace_state
        if trace_state:
            out += _field(0x1A, ",".join(f"{key}={value}" for key, value in trace_state.items()).encode())
        if parent:
            out += b"\x22\x08"
            out += parent.span_id.to_bytes(8, "big")
        name_key = (span._name, span._kind)
        name = self._names.get(name_key)
        if name is None:
            if len(self._names) >= _CACHE_LIMIT:
                self._names.clear()
            name = self._names[name_key] = _field(0x2A, span._name.encode()) + _KIND[span._kind]
        out += name
        start, end = span._start_time, span._end_time
        if start:
            out += b"\x39" + _FIXED64.pack(start)
        if end:
            out += b"\x41" + _FIXED64.pack(end)
        attributes = span._attributes
        if attributes:
            out += self._attributes(getattr(attributes, "_dict", attributes))
        dropped = getattr(attributes, "dropped", 0)
        if dropped:
            out += b"\x50" + _varint(dropped)
        if span._status.status_code is StatusCode.UNSET and not (span._events or span._links):
            out += _STATUS_ONLY if not (span.dropped_events or span.dropped_links) else self._rare(span)
        else:
            out += self._rare(span)
        out += _FLAGS_REMOTE if parent is not None and parent.is_remote else _FLAGS_LOCAL
        return b"\x12" + _varint(len(out)) + out

    def _rare(self, span: ReadableSpan) -> bytes:
        """Span fields 11 to 15 when there are events, links, drops or a status."""
        out = bytearray()
        events = span.events
        if events and self._scrubber is not None:
            events = tuple(_scrub_event(event, self._scrubber) for event in events)
        out += _repeated(0x5A, _encode_events(events) if events else None, b"\x60", span.dropped_events)
        out += _repeated(0x6A, _encode_links(span.links) if span.links else None, b"\x70", span.dropped_links)
        status = span.status
        code = status.status_code.value
        # Status: message is field 2, code field 3 (field 1 is retired).
        status_body = (_field(0x12, status.description.encode()) if status.description else b"") + (
            b"\x18" + _varint(code) if code else b""
        )
        out += _field(0x7A, status_body)
        return bytes(out)

    def _attributes(self, attributes: Mapping[str, Any]) -> bytes:
        """The span's `attributes` fields (9), tags included."""
        pairs, scrubber = self._pairs, self._scrubber
        out = bytearray()
        for key, value in attributes.items():
            kind = type(value)
            cache_key = (key, kind, value) if kind in _SCALARS else None
            field = pairs.get(cache_key) if cache_key is not None else None
            if field is None:
                # Cached as scrubbed: the scrubbed value depends on the key and value only.
                encoded = _key_value(key, value if scrubber is None else scrubber.pair_value(key, value))
                if encoded is None:
                    continue
                field = b"\x4a" + _varint(len(encoded)) + encoded
                if cache_key is not None:
                    if len(pairs) >= _CACHE_LIMIT:
                        pairs.clear()
                    pairs[cache_key] = field
            out += field
        return bytes(out)

    def _resource(self, resource: Resource) -> bytes:
        cached = self._resources.get(id(resource))
        if cached is None or cached[0] is not resource:
            if len(self._resources) >= _CACHE_LIMIT:
                self._resources.clear()
            cached = self._resources[id(resource)] = (
                resource,
                _field(0x0A, _encode_resource(resource).SerializeToString()),
            )
        return cached[1]

    def _scope(self, scope: InstrumentationScope | None) -> bytes:
        cached = self._scopes.get(id(scope))
        if cached is None or cached[0] is not scope:
            if len(self._scopes) >= _CACHE_LIMIT:
                self._scopes.clear()
            encoded = _encode_instrumentation_scope(scope).SerializeToString()  # type: ignore[arg-type]  # accepts None
            cached = self._scopes[id(scope)] = (scope, _field(0x0A, encoded))
        return cached[1]
