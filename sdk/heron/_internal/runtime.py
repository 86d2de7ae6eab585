"""The one running Heron pipeline of this process: start, fork, flush, stop."""

from __future__ import annotations

import atexit
import os
import threading
import warnings
from dataclasses import dataclass, field

from opentelemetry import _logs, metrics, trace
from opentelemetry._logs import NoOpLoggerProvider
from opentelemetry._logs._internal import ProxyLoggerProvider
from opentelemetry.metrics import NoOpMeterProvider
from opentelemetry.trace import NoOpTracerProvider

from heron._internal import aggregation, guard, lifecycle, proxies
from heron._internal.config import HeronConfig
from heron._internal.errors import UncaughtHooks
from heron._internal.exceptions import HeronInitWarning
from heron._internal.guard import internal_errors
from heron._internal.integrations import Integration, install_enabled, uninstall_all
from heron._internal.integrations.logs import LoggingIntegration
from heron._internal.lifecycle import ShutdownReport
from heron._internal.pipeline import Pipeline, PipelineBuilder, build_otlp_pipeline
from heron._internal.resource import build_resource

EXIT_TIMEOUT = 2.0


@dataclass
class _Running:
    config: HeronConfig
    builder: PipelineBuilder
    pipeline: Pipeline
    pid: int
    integrations: list[Integration] = field(default_factory=list)
    hooks: UncaughtHooks | None = None
    testing: bool = False


_lock = threading.RLock()
_running: _Running | None = None
_process_hooks_installed = False


def current() -> _Running | None:
    return _running


def start(config: HeronConfig, builder: PipelineBuilder = build_otlp_pipeline, *, testing: bool = False) -> bool:
    """Install providers, integrations and hooks; False (with a warning) when already running."""
    global _running  # noqa: PLW0603 - one pipeline per process is the point
    with _lock:
        if _running is not None and _running.testing:
            return False  # heron.testing owns the pipeline: the app's own init is expected and harmless
        if _running is not None:
            warnings.warn(
                f"heron.init() was already called for service {_running.config.service_name!r}; this call "
                "changed nothing (call heron.shutdown() first to start again with new settings)",
                HeronInitWarning,
                stacklevel=3,
            )
            return False
        pipeline = builder(config, build_resource(config))
        aggregation.reset_all()
        _swap(pipeline)
        running = _Running(config=config, builder=builder, pipeline=pipeline, pid=os.getpid(), testing=testing)
        _running = running
        _install_process_hooks()
        running.integrations = install_enabled(config)
        if config.capture_uncaught:
            running.hooks = UncaughtHooks()
            running.hooks.install()
        return True


def stop(timeout: float) -> ShutdownReport:
    """Uninstall everything and shut the pipeline down within `timeout` seconds."""
    global _running
    with _lock:
        running, _running = _running, None
    if running is None:
        return ShutdownReport(completed=True, timeout=timeout)
    if running.hooks is not None:
        running.hooks.uninstall()
    uninstall_all(running.integrations)
    proxies.REGISTRY.swap(NoOpTracerProvider(), NoOpMeterProvider(), NoOpLoggerProvider())
    return lifecycle.shutdown(running.pipeline, timeout)


def flush(timeout: float) -> bool:
    running = _running
    return lifecycle.flush(running.pipeline, timeout) if running is not None else True


def after_fork() -> None:
    """In a forked child: fresh exporters and a new service.instance.id; the inherited pipeline is retired."""
    running = _running
    if running is None or running.pid == os.getpid():
        return
    old = running.pipeline
    running.pipeline = running.builder(running.config, build_resource(running.config))
    running.pid = os.getpid()
    aggregation.reset_all()  # the parent's requests are the parent's to report
    _swap(running.pipeline)
    lifecycle.abandon(old)


def reattach_logging() -> None:
    running = _running
    if running is not None:
        for integration in running.integrations:
            if isinstance(integration, LoggingIntegration):
                integration.attach()


def _swap(pipeline: Pipeline) -> None:
    proxies.REGISTRY.swap(pipeline.tracer_provider, pipeline.meter_provider, pipeline.logger_provider)


def _after_fork_in_child() -> None:
    global _lock  # noqa: PLW0603 - a lock held by another thread at fork time is never released in the child
    _lock = threading.RLock()
    proxies.REGISTRY.lock = threading.RLock()
    guard.reinit_after_fork()
    with internal_errors("fork"):
        after_fork()


def _at_exit() -> None:
    running = _running
    if running is not None and running.pid == os.getpid():
        stop(EXIT_TIMEOUT)


def _install_process_hooks() -> None:
    global _process_hooks_installed  # noqa: PLW0603 - fork hooks are process-wide, installed once
    if _process_hooks_installed:
        return
    _process_hooks_installed = True
    os.register_at_fork(after_in_child=_after_fork_in_child)
    atexit.register(_at_exit)
    # Libraries that use the global OpenTelemetry API get Heron's providers too, unless the app set its own.
    if isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
        trace.set_tracer_provider(proxies.TRACER_PROVIDER)
    if type(metrics.get_meter_provider()).__name__ == "_ProxyMeterProvider":
        metrics.set_meter_provider(proxies.METER_PROVIDER)
    if isinstance(_logs.get_logger_provider(), ProxyLoggerProvider):
        _logs.set_logger_provider(proxies.LOGGER_PROVIDER)
