"""A lean Flask integration: one server span and one http.server.request.duration point per request.

It patches the Flask class, not an instance, so apps created before `heron.init` are covered too.
Health-check paths skip everything. Duration covers the app's handling up to the returned response;
streamed bodies are not timed.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterable
from contextvars import ContextVar, Token
from time import time_ns
from typing import Any

from opentelemetry import context, propagate, trace
from opentelemetry.propagators.textmap import Getter
from opentelemetry.trace import Status, StatusCode

from heron._internal import env, proxies
from heron._internal.aggregation import FastHistogram, register
from heron._internal.config import HeronConfig
from heron._internal.errors import record_exception
from heron._internal.fastspan import ServerSpan, start_server_span
from heron._internal.fingerprint import exception_type_name
from heron._internal.guard import report_internal_error
from heron._internal.version import VERSION

# Stable semconv advisory buckets for http.server.request.duration (seconds).
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"})


class _EnvironGetter(Getter[dict[str, Any]]):
    def get(self, carrier: dict[str, Any], key: str) -> list[str] | None:
        value = carrier.get("HTTP_" + key.upper().replace("-", "_"))
        return [value] if value is not None else None

    def keys(self, carrier: dict[str, Any]) -> list[str]:
        return [key[5:].lower().replace("_", "-") for key in carrier if key.startswith("HTTP_")]


class _Request:
    """Per-request state; the span starts once routing is known, so it is created with its final name."""

    __slots__ = ("environ", "error", "method", "route", "scheme", "span", "start_ns", "status", "token")

    def __init__(self, environ: dict[str, Any]) -> None:
        self.environ = environ
        method = environ.get("REQUEST_METHOD", "GET")
        self.method = method if method in _METHODS else "_OTHER"
        self.scheme: str = environ.get("wsgi.url_scheme", "http")
        self.start_ns = time_ns()
        self.route: str | None = None
        self.status = 0
        self.error: str | None = None
        self.span: trace.Span | None = None
        self.token: Token[context.Context] | None = None


_GETTER = _EnvironGetter()
# Other propagators (b3, jaeger, ...) read other headers: then always extract.
_CUSTOM_PROPAGATORS = os.environ.get(env.OTEL_PROPAGATORS, "tracecontext,baggage").replace(" ", "") not in {
    "tracecontext,baggage",
    "baggage,tracecontext",
    "tracecontext",
}
_current: ContextVar[_Request | None] = ContextVar("heron_flask_request", default=None)
_tracer = proxies.TRACER_PROVIDER.get_tracer("heron.flask", VERSION)


class FlaskIntegration:
    name = "flask"
    library = "flask"

    def __init__(self) -> None:
        self._originals: dict[str, Any] = {}

    def install(self, config: HeronConfig) -> None:
        import flask

        cls = flask.Flask
        self._originals = {
            "__call__": cls.__call__,
            "full_dispatch_request": cls.full_dispatch_request,
            "handle_exception": cls.handle_exception,
        }
        cls.__call__ = _make_call(self._originals["__call__"], config.health_check_routes)  # type: ignore[method-assign]  # patched on the class
        cls.full_dispatch_request = _make_dispatch(self._originals["full_dispatch_request"])  # type: ignore[method-assign]  # patched on the class
        cls.handle_exception = _make_handle_exception(self._originals["handle_exception"])  # type: ignore[method-assign]  # patched on the class

    def uninstall(self) -> None:
        import flask

        for name, original in self._originals.items():
            setattr(flask.Flask, name, original)
        self._originals = {}


def _make_call(original: Callable[..., Any], health: frozenset[str]) -> Callable[..., Any]:
    def wsgi_call(app: Any, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") in health:
            return original(app, environ, start_response)  # type: ignore[no-any-return]  # WSGI callables are untyped
        request = _Request(environ)
        request_token = _current.set(request)

        def _start_response(status: str, headers: Any, exc_info: Any = None) -> Any:
            request.status = int(status[:3]) if status[:3].isdigit() else 0
            return start_response(status, headers, exc_info)

        try:
            return original(app, environ, _start_response)  # type: ignore[no-any-return]  # WSGI callables are untyped
        except BaseException as exc:
            request.error = exception_type_name(exc)
            _start_span(request)
            record_exception(exc, source="flask", span=request.span, escaped=True)
            raise
        finally:
            _current.reset(request_token)
            _finish(request)

    return wsgi_call


def _start_span(request: _Request) -> None:
    if request.span is not None:
        return
    try:
        environ = request.environ
        method, route = request.method, request.route
        attributes: dict[str, Any] = {
            "http.request.method": method,
            "url.path": environ.get("PATH_INFO") or "/",
            "url.scheme": request.scheme,
        }
        if route is not None:
            attributes["http.route"] = route
            name = _span_name(method, route)
        else:
            name = method
        # Without any propagation header there is nothing to extract: skip the propagators' work.
        has_context = _CUSTOM_PROPAGATORS or "HTTP_TRACEPARENT" in environ or "HTTP_BAGGAGE" in environ
        parent = propagate.extract(environ, getter=_GETTER) if has_context else None
        span = request.span = start_server_span(_tracer, name, parent, attributes, request.start_ns)
        request.token = context.attach(trace.set_span_in_context(span, parent))
    except Exception as exc:
        report_internal_error("flask request start", exc)


@functools.lru_cache(maxsize=1024)
def _span_name(method: str, route: str) -> str:
    return f"{method} {route}"


def _finish(request: _Request) -> None:
    try:
        if request.span is None:
            _start_span(request)
        span = request.span
        if request.token is not None:
            context.detach(request.token)
        elapsed = (time_ns() - request.start_ns) / 1e9
        status, error = request.status, request.error
        error_type = (error or str(status)) if error or status >= 500 else None
        if span is not None:
            _end_span(span, status, error_type)
        _duration.record(elapsed, (request.method, request.scheme, request.route, status, error_type))
    except Exception as exc:
        report_internal_error("flask request finish", exc)


def _duration_labels(key: tuple[str, str, str | None, int, str | None]) -> dict[str, Any]:
    """A duration series key as attributes, in a fixed order."""
    method, scheme, route, status, error_type = key
    labels: dict[str, Any] = {"http.request.method": method, "url.scheme": scheme}
    if route is not None:
        labels["http.route"] = route
    if status:
        labels["http.response.status_code"] = status
    if error_type is not None:
        labels["error.type"] = error_type
    return labels


def _end_span(span: trace.Span, status: int, error_type: str | None) -> None:
    if error_type is not None:
        span.set_attributes({"http.response.status_code": status, "error.type": error_type})
        span.set_status(Status(StatusCode.ERROR))
    elif status and isinstance(span, ServerSpan):
        span.end_with_status_code(status)
        return
    elif status:
        span.set_attribute("http.response.status_code", status)
    span.end()


_duration = register(
    FastHistogram(
        "http.server.request.duration",
        unit="s",
        description="Duration of HTTP server requests.",
        bounds=DURATION_BUCKETS,
        scope="heron.flask",
        labels=_duration_labels,
    )
)


def _make_dispatch(original: Callable[..., Any]) -> Callable[..., Any]:
    from flask import request as flask_request

    def full_dispatch_request(app: Any) -> Any:
        request = _current.get()
        if request is not None and request.span is None:
            rule = flask_request.url_rule
            request.route = rule.rule if rule is not None else None
            _start_span(request)
        return original(app)

    return full_dispatch_request


def _make_handle_exception(original: Callable[..., Any]) -> Callable[..., Any]:
    def handle_exception(app: Any, exc: Exception) -> Any:
        request = _current.get()
        if request is not None:
            request.error = exception_type_name(exc)
            record_exception(exc, source="flask")
        return original(app, exc)

    return handle_exception
