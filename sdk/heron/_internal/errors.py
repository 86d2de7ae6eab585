"""Error capture: span exception event, ERROR log with the stack, error counter by type and fingerprint."""

from __future__ import annotations

import contextlib
import sys
import threading
import traceback
from types import TracebackType
from typing import Any

from opentelemetry import trace
from opentelemetry._logs import SeverityNumber
from opentelemetry.trace import Span, Status, StatusCode

from heron._internal import proxies
from heron._internal.fingerprint import exception_type_name, fingerprint
from heron._internal.guard import guarded

FINGERPRINT_KEY = "heron.error.fingerprint"
SOURCE_KEY = "heron.error.source"
_MARK = "__heron_reported__"
_tracer = proxies.TRACER_PROVIDER.get_tracer("heron.errors")
_meter = proxies.METER_PROVIDER.get_meter("heron")
ERROR_COUNTER = _meter.create_counter(
    "heron.errors", unit="{error}", description="Errors captured by Heron, by error.type and fingerprint."
)
_error_logger = proxies.LOGGER_PROVIDER.get_logger("heron.errors")


def already_reported(exc: BaseException | None) -> bool:
    """True when Heron already exported this exception (so a framework's own log of it is a duplicate)."""
    return exc is not None and getattr(exc, _MARK, False) is True


def _mark(exc: BaseException) -> None:
    # Exceptions without a __dict__ just skip de-duplication.
    with contextlib.suppress(AttributeError, TypeError):
        setattr(exc, _MARK, True)


@guarded("capture exception", default=None)
def record_exception(
    exc: BaseException,
    *,
    source: str,
    span: Span | None = None,
    escaped: bool = False,
    emit_log: bool = True,
    add_event: bool = True,
) -> str | None:
    """Record `exc` once on the span, in the error counter and as an ERROR log; returns its fingerprint."""
    if already_reported(exc):
        return fingerprint(exc)
    _mark(exc)
    type_name, print_ = exception_type_name(exc), fingerprint(exc)
    span = span if span is not None else trace.get_current_span()
    if add_event and span.is_recording():
        span.record_exception(exc, attributes={FINGERPRINT_KEY: print_}, escaped=escaped)
        span.set_status(Status(StatusCode.ERROR, f"{type_name}: {exc}"))
    ERROR_COUNTER.add(1, {"error.type": type_name, FINGERPRINT_KEY: print_, SOURCE_KEY: source})
    if emit_log:
        _emit_error_log(exc, type_name, print_, source, span)
    return print_


def _emit_error_log(exc: BaseException, type_name: str, print_: str, source: str, span: Span) -> None:
    stack = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    context = trace.set_span_in_context(span) if span.get_span_context().is_valid else None
    _error_logger.emit(
        severity_number=SeverityNumber.ERROR,
        severity_text="ERROR",
        body=f"{type_name}: {exc}",
        context=context,
        attributes={
            "exception.type": type_name,
            "exception.message": str(exc),
            "exception.stacktrace": stack,
            FINGERPRINT_KEY: print_,
            SOURCE_KEY: source,
        },
    )


def _record_uncaught(exc: BaseException, source: str) -> None:
    current = trace.get_current_span()
    if current.is_recording():
        record_exception(exc, source=source, escaped=True)
        return
    # Nothing is in flight: a short span of its own gives the error a trace id to join logs on.
    with _tracer.start_as_current_span(
        f"uncaught {exception_type_name(exc)}", record_exception=False, set_status_on_exception=False
    ) as span:
        record_exception(exc, source=source, span=span, escaped=True)


class UncaughtHooks:
    """Chains onto sys.excepthook and threading.excepthook; uninstall restores the previous hooks."""

    def __init__(self) -> None:
        self._previous_sys: Any = None
        self._previous_thread: Any = None

    def install(self) -> None:
        self._previous_sys, self._previous_thread = sys.excepthook, threading.excepthook
        sys.excepthook = self._sys_hook
        threading.excepthook = self._thread_hook

    def uninstall(self) -> None:
        if sys.excepthook == self._sys_hook:
            sys.excepthook = self._previous_sys
        if threading.excepthook == self._thread_hook:
            threading.excepthook = self._previous_thread

    def _sys_hook(self, exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        if not isinstance(exc, KeyboardInterrupt):
            _guarded_uncaught(exc, "uncaught")
        self._previous_sys(exc_type, exc, tb)

    def _thread_hook(self, args: threading.ExceptHookArgs) -> None:
        if args.exc_value is not None and not isinstance(args.exc_value, SystemExit):
            _guarded_uncaught(args.exc_value, "thread")
        self._previous_thread(args)


@guarded("uncaught exception hook", default=None)
def _guarded_uncaught(exc: BaseException, source: str) -> None:
    _record_uncaught(exc, source)
