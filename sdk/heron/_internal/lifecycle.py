"""Bounded flush and shutdown: never block the app past the timeout, even when the collector is down."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from heron._internal.guard import internal_errors, internal_logger
from heron._internal.pipeline import Pipeline


@dataclass(frozen=True)
class ShutdownReport:
    """What `heron.shutdown` managed to send before its deadline, and what it had to drop."""

    completed: bool
    timeout: float
    spans_exported: int = 0
    spans_dropped: int = 0
    logs_exported: int = 0
    logs_dropped: int = 0
    metric_exports_failed: int = 0

    @property
    def dropped(self) -> int:
        return self.spans_dropped + self.logs_dropped

    def summary(self) -> str:
        state = "flushed everything" if self.completed else f"gave up after {self.timeout:g}s"
        return (
            f"heron shutdown {state}: {self.spans_exported} spans and {self.logs_exported} logs exported, "
            f"{self.spans_dropped} spans and {self.logs_dropped} logs dropped, "
            f"{self.metric_exports_failed} metric exports failed"
        )


def run_bounded(work: Callable[[], None], timeout: float, name: str) -> bool:
    """Run `work` on a daemon thread; True when it finished within `timeout` seconds."""

    def target() -> None:
        with internal_errors(name):
            work()

    thread = threading.Thread(target=target, name=f"heron-{name}", daemon=True)
    thread.start()
    thread.join(max(0.0, timeout))
    return not thread.is_alive()


def flush(pipeline: Pipeline, timeout: float) -> bool:
    """Export what is queued; False when the deadline passed first."""

    def work() -> None:
        pipeline.tracer_provider.force_flush()
        pipeline.logger_provider.force_flush()
        pipeline.meter_provider.force_flush()

    return run_bounded(work, timeout, "flush")


def shutdown(pipeline: Pipeline, timeout: float) -> ShutdownReport:
    """Flush and stop every provider; past the deadline, close the exporters and count the rest as dropped."""

    def work() -> None:
        pipeline.tracer_provider.shutdown()
        pipeline.logger_provider.shutdown()
        pipeline.meter_provider.shutdown(timeout_millis=max(1.0, timeout * 1000.0))

    completed = run_bounded(work, timeout, "shutdown")
    pending_spans = pending_logs = 0
    if not completed:
        pending_spans, pending_logs = pipeline.pending_spans(), pipeline.pending_logs()
        # Interrupt retries against an unreachable collector; the worker threads are daemons.
        for exporter in (pipeline.span_exporter, pipeline.log_exporter, pipeline.metric_exporter):
            if exporter is not None:
                run_bounded(exporter.close, 0.2, "close")
    spans, logs = pipeline.span_exporter.counts, pipeline.log_exporter.counts
    report = ShutdownReport(
        completed=completed,
        timeout=timeout,
        spans_exported=spans.exported,
        spans_dropped=spans.dropped + spans.in_flight + pending_spans,
        logs_exported=logs.exported,
        logs_dropped=logs.dropped + logs.in_flight + pending_logs,
        metric_exports_failed=pipeline.metric_exporter.counts.dropped if pipeline.metric_exporter else 0,
    )
    if not completed or report.dropped:
        internal_logger.warning("%s", report.summary())
    return report


def abandon(pipeline: Pipeline) -> None:
    """Retire a pipeline inherited across fork without sending anything more from it."""
    for exporter in (pipeline.span_exporter, pipeline.log_exporter, pipeline.metric_exporter):
        if exporter is not None:
            exporter.closed = True

    def work() -> None:
        pipeline.tracer_provider.shutdown()
        pipeline.logger_provider.shutdown()
        pipeline.meter_provider.shutdown(timeout_millis=100)

    threading.Thread(target=lambda: run_bounded(work, 1.0, "abandon"), daemon=True).start()
