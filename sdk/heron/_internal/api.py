"""The public functions behind `heron.*`."""

from __future__ import annotations

import functools
import inspect
import re
import sys
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from types import TracebackType
from typing import Any, TypeVar

from opentelemetry import metrics
from opentelemetry.metrics._internal.instrument import Gauge, NoOpGauge
from opentelemetry.trace import Span

from heron._internal import proxies, runtime
from heron._internal.config import InitArgs, resolve_config, sdk_disabled
from heron._internal.errors import record_exception
from heron._internal.exceptions import HeronConfigWarning
from heron._internal.guard import guarded, report_internal_error
from heron._internal.lifecycle import ShutdownReport
from heron._internal.version import VERSION

F = TypeVar("F", bound=Callable[..., Any])
_INSTRUMENT_NAME = re.compile(r"^[a-zA-Z][-_./a-zA-Z0-9]{0,254}$")
_tracer = proxies.TRACER_PROVIDER.get_tracer("heron", VERSION)
_meter = proxies.METER_PROVIDER.get_meter("heron.app", VERSION)


def init(
    service_name: str | None = None,
    *,
    endpoint: str | None = None,
    environment: str | None = None,
    service_version: str | None = None,
    protocol: str | None = None,
    headers: Mapping[str, str] | None = None,
    resource_attributes: Mapping[str, str | int | float | bool] | None = None,
    metric_export_interval: float | None = None,
    instrument_flask: bool | None = None,
    instrument_requests: bool | None = None,
    instrument_celery: bool | None = None,
    instrument_logging: bool | None = None,
    log_level: int | str | None = None,
    health_check_routes: Iterable[str] | None = None,
    scrub: bool | None = None,
    scrub_patterns: Iterable[str] | None = None,
    capture_uncaught: bool | None = None,
) -> bool:
    """Send this process's traces, metrics and logs over OTLP. Returns False when nothing was started."""
    if sdk_disabled():
        return False
    args = InitArgs(
        service_name=service_name,
        endpoint=endpoint,
        environment=environment,
        service_version=service_version,
        protocol=protocol,
        headers=headers,
        resource_attributes=resource_attributes,
        metric_export_interval=metric_export_interval,
        instrument={
            "flask": instrument_flask,
            "requests": instrument_requests,
            "celery": instrument_celery,
            "logging": instrument_logging,
        },
        log_level=log_level,
        health_check_routes=health_check_routes,
        scrub=scrub,
        scrub_patterns=scrub_patterns,
        capture_uncaught=capture_uncaught,
    )
    config = resolve_config(args)
    try:
        return runtime.start(config)
    except Exception as exc:
        report_internal_error("init", exc)
        return False


def shutdown(timeout: float = 2.0) -> ShutdownReport:
    """Flush and stop within `timeout` seconds; the report says what was exported and what was dropped."""
    try:
        return runtime.stop(timeout)
    except Exception as exc:
        report_internal_error("shutdown", exc)
        return ShutdownReport(completed=False, timeout=timeout)


class _SpanScope:
    """`with heron.span(...)` and `@heron.span(...)`; each use opens a new span."""

    def __init__(self, name: str, attributes: dict[str, Any]) -> None:
        self._name = name
        self._attributes = attributes
        self._scopes: list[Any] = []

    def __enter__(self) -> Span:
        scope = _tracer.start_as_current_span(self._name, attributes=self._attributes)
        self._scopes.append(scope)
        span: Span = scope.__enter__()
        return span

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        scope = self._scopes.pop()
        scope.__exit__(exc_type, exc, tb)

    def __call__(self, func: F) -> F:
        name, attributes = self._name, self._attributes
        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                with _SpanScope(name, attributes):
                    return await func(*args, **kwargs)

            return async_wrapper  # type: ignore[return-value]  # same signature as `func`, by functools.wraps

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with _SpanScope(name, attributes):
                return func(*args, **kwargs)

        return wrapper  # type: ignore[return-value]  # same signature as `func`, by functools.wraps


def _attribute_value(value: Any) -> Any:
    if isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, Sequence) and all(isinstance(item, (str, bool, int, float)) for item in value):
        return list(value)
    return repr(value)


def span(name: str, **attributes: Any) -> _SpanScope:
    """A span named `name` with `attributes`, as a context manager (yields the span) or a decorator."""
    return _SpanScope(str(name), {key: _attribute_value(value) for key, value in attributes.items()})


def capture_exception(exc: BaseException | None = None) -> str | None:
    """Record `exc` (default: the one being handled) as an error; returns its grouping fingerprint."""
    exc = exc if exc is not None else sys.exc_info()[1]
    if exc is None:
        return None
    return record_exception(exc, source="manual")


def _valid_name(kind: str, name: str) -> bool:
    if _INSTRUMENT_NAME.match(name):
        return True
    warnings.warn(
        f"heron.{kind}: name {name!r} is not a valid OpenTelemetry instrument name (letters first, then letters, "
        "digits, '_', '.', '-', '/'; at most 255 characters); the instrument records nothing",
        HeronConfigWarning,
        stacklevel=3,
    )
    return False


@guarded("counter", default=metrics.NoOpCounter("invalid"))
def counter(name: str, unit: str = "", description: str = "") -> metrics.Counter:
    """A monotonic counter: `.add(amount, attributes)`."""
    if not _valid_name("counter", name):
        return metrics.NoOpCounter(name)
    return _meter.create_counter(name, unit, description)


@guarded("histogram", default=metrics.NoOpHistogram("invalid"))
def histogram(
    name: str, unit: str = "", description: str = "", buckets: Sequence[float] | None = None
) -> metrics.Histogram:
    """A histogram: `.record(value, attributes)`; `buckets` sets explicit bucket boundaries."""
    if not _valid_name("histogram", name):
        return metrics.NoOpHistogram(name)
    return _meter.create_histogram(name, unit, description, explicit_bucket_boundaries_advisory=buckets)


@guarded("gauge", default=NoOpGauge("invalid"))
def gauge(name: str, unit: str = "", description: str = "") -> Gauge:
    """A synchronous gauge: `.set(value, attributes)` keeps the last value."""
    if not _valid_name("gauge", name):
        return NoOpGauge(name)
    return _meter.create_gauge(name, unit, description)
