"""Celery: task spans on both sides of the queue (context in message headers), failures, prefork children."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from heron._internal import proxies
from heron._internal.config import HeronConfig
from heron._internal.errors import record_exception
from heron._internal.guard import guarded

FLUSH_TIMEOUT = 2.0


@guarded("celery task failure")
def _on_task_failure(sender: Any = None, exception: BaseException | None = None, **_: Any) -> None:
    if exception is not None:
        # The task span already gets the exception event from the Celery instrumentation.
        record_exception(exception, source="celery", add_event=False)


@guarded("celery worker process init")
def _on_worker_process_init(**_: Any) -> None:
    from heron._internal.runtime import after_fork

    after_fork()


@guarded("celery worker shutdown")
def _on_worker_shutdown(**_: Any) -> None:
    from heron._internal.runtime import flush

    # Prefork children leave through os._exit, skipping atexit: flush here or lose the last spans.
    flush(FLUSH_TIMEOUT)


@guarded("celery logging setup")
def _on_after_setup_logger(**_: Any) -> None:
    from heron._internal.runtime import reattach_logging

    reattach_logging()


class CeleryIntegration:
    name = "celery"
    library = "opentelemetry.instrumentation.celery"

    def __init__(self) -> None:
        self._connected: list[tuple[Any, Callable[..., None]]] = []

    def install(self, config: HeronConfig) -> None:
        from celery import signals
        from opentelemetry.instrumentation.celery import CeleryInstrumentor

        instrumentor = CeleryInstrumentor()  # type: ignore[no-untyped-call]  # the instrumentation ships no type hints
        if not instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.instrument(tracer_provider=proxies.TRACER_PROVIDER, meter_provider=proxies.METER_PROVIDER)
        for signal, receiver in (
            (signals.task_failure, _on_task_failure),
            (signals.worker_process_init, _on_worker_process_init),
            (signals.worker_process_shutdown, _on_worker_shutdown),
            (signals.worker_shutdown, _on_worker_shutdown),
            (signals.after_setup_logger, _on_after_setup_logger),
        ):
            signal.connect(receiver, weak=False)
            self._connected.append((signal, receiver))

    def uninstall(self) -> None:
        from opentelemetry.instrumentation.celery import CeleryInstrumentor

        for signal, receiver in self._connected:
            signal.disconnect(receiver)
        self._connected = []
        instrumentor = CeleryInstrumentor()  # type: ignore[no-untyped-call]  # the instrumentation ships no type hints
        if instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.uninstrument()
