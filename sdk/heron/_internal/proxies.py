"""Process-wide providers whose SDK pipeline can be swapped: at fork, at re-init after shutdown, in tests.

Tracers, meters, loggers and instruments handed out here stay valid across swaps; each swap rebinds
them eagerly, so the hot path is one attribute lookup and a call.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Sequence
from typing import Any

from opentelemetry import metrics, trace
from opentelemetry._logs import Logger, LoggerProvider, LogRecord, NoOpLoggerProvider
from opentelemetry.context import Context
from opentelemetry.metrics import CallbackT, Meter, MeterProvider, NoOpMeterProvider
from opentelemetry.metrics._internal.instrument import Gauge
from opentelemetry.trace import NoOpTracerProvider, Span, SpanKind, Tracer, TracerProvider
from opentelemetry.util.types import Attributes

_Key = tuple[str, str | None, str | None]


class _Registry:
    """The current SDK providers plus weak references to every proxy to rebind on a swap."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.tracer_provider: TracerProvider = NoOpTracerProvider()
        self.meter_provider: MeterProvider = NoOpMeterProvider()
        self.logger_provider: LoggerProvider = NoOpLoggerProvider()
        self.tracers: weakref.WeakValueDictionary[_Key, HeronTracer] = weakref.WeakValueDictionary()
        self.meters: weakref.WeakValueDictionary[_Key, HeronMeter] = weakref.WeakValueDictionary()
        self.loggers: weakref.WeakValueDictionary[_Key, HeronLogger] = weakref.WeakValueDictionary()
        self.instruments: weakref.WeakSet[_ProxyInstrument] = weakref.WeakSet()
        # Observable instruments are often created and dropped: their callbacks must survive a swap.
        self.observables: list[_ProxyInstrument] = []

    def swap(
        self, tracer_provider: TracerProvider, meter_provider: MeterProvider, logger_provider: LoggerProvider
    ) -> None:
        with self.lock:
            self.tracer_provider, self.meter_provider = tracer_provider, meter_provider
            self.logger_provider = logger_provider
            for tracer in list(self.tracers.values()):
                tracer.rebind()
            for meter in list(self.meters.values()):
                meter.rebind()
            for instrument in [*self.instruments, *self.observables]:
                instrument.rebind()
            for logger in list(self.loggers.values()):
                logger.rebind()


REGISTRY = _Registry()


class HeronTracer(Tracer):
    def __init__(self, key: _Key) -> None:
        self._key = key
        self.delegate: Tracer = trace.NoOpTracer()
        self.rebind()

    def rebind(self) -> None:
        name, version, schema_url = self._key
        self.delegate = REGISTRY.tracer_provider.get_tracer(name, version, schema_url)

    def start_span(
        self,
        name: str,
        context: Context | None = None,
        kind: SpanKind = SpanKind.INTERNAL,
        attributes: Attributes = None,
        links: Any = None,
        start_time: int | None = None,
        record_exception: bool = True,
        set_status_on_exception: bool = True,
    ) -> Span:
        return self.delegate.start_span(
            name, context, kind, attributes, links, start_time, record_exception, set_status_on_exception
        )

    def start_as_current_span(self, *args: Any, **kwargs: Any) -> Any:
        return self.delegate.start_as_current_span(*args, **kwargs)


class HeronTracerProvider(TracerProvider):
    def get_tracer(
        self,
        instrumenting_module_name: str,
        instrumenting_library_version: str | None = None,
        schema_url: str | None = None,
        attributes: Attributes = None,
    ) -> Tracer:
        key = (instrumenting_module_name, instrumenting_library_version, schema_url)
        with REGISTRY.lock:
            tracer = REGISTRY.tracers.get(key)
            if tracer is None:
                tracer = REGISTRY.tracers[key] = HeronTracer(key)
            return tracer


class _ProxyInstrument:
    observable = False

    def __init__(self, meter: HeronMeter, create: Callable[[Meter], Any]) -> None:
        self._meter, self._create = meter, create
        self.delegate: Any = None
        self.rebind()
        with REGISTRY.lock:
            if self.observable:
                REGISTRY.observables.append(self)
            else:
                REGISTRY.instruments.add(self)

    def rebind(self) -> None:
        self.delegate = self._create(self._meter.delegate)


class _Counter(_ProxyInstrument, metrics.Counter):
    def add(self, amount: int | float, attributes: Attributes = None, context: Context | None = None) -> None:
        self.delegate.add(amount, attributes, context)


class _UpDownCounter(_ProxyInstrument, metrics.UpDownCounter):
    def add(self, amount: int | float, attributes: Attributes = None, context: Context | None = None) -> None:
        self.delegate.add(amount, attributes, context)


class _Histogram(_ProxyInstrument, metrics.Histogram):
    def record(self, amount: int | float, attributes: Attributes = None, context: Context | None = None) -> None:
        self.delegate.record(amount, attributes, context)


class _Gauge(_ProxyInstrument, Gauge):
    def set(self, amount: int | float, attributes: Attributes = None, context: Context | None = None) -> None:
        self.delegate.set(amount, attributes, context)


class _ObservableCounter(_ProxyInstrument, metrics.ObservableCounter):
    observable = True


class _ObservableGauge(_ProxyInstrument, metrics.ObservableGauge):
    observable = True


class _ObservableUpDownCounter(_ProxyInstrument, metrics.ObservableUpDownCounter):
    observable = True


class HeronMeter(Meter):
    def __init__(self, key: _Key) -> None:
        super().__init__(key[0], key[1], key[2])
        self._key = key
        self.delegate: Meter = metrics.NoOpMeter(key[0])
        self.rebind()

    def rebind(self) -> None:
        name, version, schema_url = self._key
        self.delegate = REGISTRY.meter_provider.get_meter(name, version, schema_url)

    def create_counter(self, name: str, unit: str = "", description: str = "") -> metrics.Counter:
        return _Counter(self, lambda meter: meter.create_counter(name, unit, description))

    def create_up_down_counter(self, name: str, unit: str = "", description: str = "") -> metrics.UpDownCounter:
        return _UpDownCounter(self, lambda meter: meter.create_up_down_counter(name, unit, description))

    def create_histogram(
        self,
        name: str,
        unit: str = "",
        description: str = "",
        *,
        explicit_bucket_boundaries_advisory: Sequence[float] | None = None,
    ) -> metrics.Histogram:
        bounds = explicit_bucket_boundaries_advisory
        return _Histogram(
            self,
            lambda meter: meter.create_histogram(name, unit, description, explicit_bucket_boundaries_advisory=bounds),
        )

    def create_gauge(self, name: str, unit: str = "", description: str = "") -> Gauge:
        return _Gauge(self, lambda meter: meter.create_gauge(name, unit, description))

    def create_observable_counter(
        self, name: str, callbacks: Sequence[CallbackT] | None = None, unit: str = "", description: str = ""
    ) -> metrics.ObservableCounter:
        return _ObservableCounter(
            self, lambda meter: meter.create_observable_counter(name, callbacks, unit, description)
        )

    def create_observable_gauge(
        self, name: str, callbacks: Sequence[CallbackT] | None = None, unit: str = "", description: str = ""
    ) -> metrics.ObservableGauge:
        return _ObservableGauge(self, lambda meter: meter.create_observable_gauge(name, callbacks, unit, description))

    def create_observable_up_down_counter(
        self, name: str, callbacks: Sequence[CallbackT] | None = None, unit: str = "", description: str = ""
    ) -> metrics.ObservableUpDownCounter:
        return _ObservableUpDownCounter(
            self, lambda meter: meter.create_observable_up_down_counter(name, callbacks, unit, description)
        )


class HeronMeterProvider(MeterProvider):
    def get_meter(
        self, name: str, version: str | None = None, schema_url: str | None = None, attributes: Attributes = None
    ) -> Meter:
        key = (name, version, schema_url)
        with REGISTRY.lock:
            meter = REGISTRY.meters.get(key)
            if meter is None:
                meter = REGISTRY.meters[key] = HeronMeter(key)
            return meter


class HeronLogger(Logger):
    def __init__(self, key: _Key) -> None:
        super().__init__(key[0], key[1], key[2])
        self._key = key
        self.delegate: Logger = NoOpLoggerProvider().get_logger(key[0])
        self.rebind()

    def rebind(self) -> None:
        name, version, schema_url = self._key
        self.delegate = REGISTRY.logger_provider.get_logger(name, version, schema_url)

    def emit(self, record: LogRecord | None = None, **kwargs: Any) -> None:
        if record is not None:
            self.delegate.emit(record)
        else:
            self.delegate.emit(**kwargs)

    def enabled(self, **kwargs: Any) -> bool:
        return self.delegate.enabled(**kwargs)


class HeronLoggerProvider(LoggerProvider):
    def get_logger(
        self,
        name: str,
        version: str | None = None,
        schema_url: str | None = None,
        attributes: Attributes = None,
    ) -> Logger:
        key = (name, version, schema_url)
        # Fast path without the lock: the logging handler asks for a logger on every record.
        logger = REGISTRY.loggers.get(key)
        if logger is not None:
            return logger
        with REGISTRY.lock:
            logger = REGISTRY.loggers.get(key)
            if logger is None:
                logger = REGISTRY.loggers[key] = HeronLogger(key)
            return logger


TRACER_PROVIDER = HeronTracerProvider()
METER_PROVIDER = HeronMeterProvider()
LOGGER_PROVIDER = HeronLoggerProvider()
