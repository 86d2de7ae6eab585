"""The agent loop: collect on a fixed schedule into the buffer; a separate thread delivers it in order."""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import msgspec

from otel_agent.buffer import MIB, CycleBuffer
from otel_agent.collectors.filters import Filters
from otel_agent.collectors.pipeline import Pipeline
from otel_agent.config import AgentConfig
from otel_agent.encoding import Encoder
from otel_agent.exporting import MetricsExporter, make_exporter
from otel_agent.models import Cycle, Point
from otel_agent.resource import detect_resource
from otel_agent.sources import Source, make_source

if TYPE_CHECKING:
    from otel_agent.sources.processes import TopProcesses

_log = logging.getLogger("otel_agent")
MAX_BACKOFF = 10.0


def filters_from(config: AgentConfig) -> Filters:
    return Filters(**msgspec.structs.asdict(config.filters))


def _source_key(config: AgentConfig) -> tuple[object, ...]:
    return config.source, config.root, config.filters, config.statvfs_timeout, config.processes.states


def _source_for(config: AgentConfig) -> Source:
    return make_source(
        config.source, config.root, filters_from(config), config.statvfs_timeout, config.processes.states
    )


class Agent:
    """Owns the collection loop, the buffer and the export thread."""

    def __init__(
        self,
        config: AgentConfig,
        *,
        source: Source | None = None,
        exporter: MetricsExporter | None = None,
        resource: dict[str, str] | None = None,
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        self.config = config
        self._clock = clock
        self.started_ns = clock()
        self.resource_attributes = resource if resource is not None else detect_resource(config)
        self._encoder = Encoder(self.resource_attributes, self.resource_attributes.get("service.version", ""))
        self._source = source or _source_for(config)
        self._exporter = exporter
        self._pipeline = Pipeline(filters_from(config), config.naming, config.cardinality_limit)
        self._top = self._make_top(config)
        b = config.buffer
        self.buffer = CycleBuffer(b.max_cycles, int(b.max_mib * MIB), b.spill_dir, int(b.spill_max_mib * MIB))
        self.exported_points = 0
        self.export_failures = 0
        self.cardinality_dropped = 0
        self._last_duration = 0.0
        self._failing = False
        self._stopping = threading.Event()
        self._wake = threading.Event()
        self._lock = threading.Lock()

    @staticmethod
    def _make_top(config: AgentConfig) -> TopProcesses | None:
        p = config.processes
        if not p.top_n:
            return None
        from otel_agent.sources.processes import TopProcesses  # psutil (~3 MiB) only when asked for

        return TopProcesses(p.top_n, p.sort_by, p.include, p.exclude)

    @property
    def exporter(self) -> MetricsExporter:
        with self._lock:
            if self._exporter is None:
                self._exporter = make_exporter(self.config.export)
            return self._exporter

    def collect(self) -> Cycle:
        """Read the host once and build this cycle's points, self-metrics included."""
        started = time.perf_counter()
        readings = self._source.read()
        if self._top is not None:
            readings.top_processes = self._top.read()
        points, dropped = self._pipeline.build(readings)
        self.cardinality_dropped += dropped
        self._last_duration = time.perf_counter() - started
        start_ns = int(readings.boot_time * 1e9) if readings.boot_time else self.started_ns
        points += self._self_points()
        return Cycle(readings.time_ns, start_ns, points)

    def _self_points(self) -> list[Point]:
        s = self.started_ns
        return [
            Point("otel_agent.cycle.duration", (), self._last_duration),
            Point("otel_agent.points.exported", (), self.exported_points, s),
            Point("otel_agent.export.failures", (), self.export_failures, s),
            Point("otel_agent.buffer.depth", (), self.buffer.depth),
            Point("otel_agent.buffer.size", (), self.buffer.memory_bytes),
            Point("otel_agent.points.dropped", (("reason", "buffer_full"),), self.buffer.dropped_points, s),
            Point("otel_agent.points.dropped", (("reason", "cardinality"),), self.cardinality_dropped, s),
        ]

    def collect_into_buffer(self) -> None:
        try:
            cycle = self.collect()
        except Exception:  # a broken reading must not end the agent; the next cycle tries again
            _log.exception("collection cycle failed")
            return
        self.buffer.push(cycle)
        self._wake.set()
        _log.debug(
            "cycle collected at %d ms: %d points, buffer depth %d",
            cycle.time_ns // 1_000_000,
            len(cycle.points),
            self.buffer.depth,
        )

    def export_batch(self) -> bool | None:
        """Send the oldest cycles once; None if there was nothing to send."""
        batch = self.buffer.peek(self.config.buffer.batch_cycles)
        if not batch:
            return None
        data = self._encoder.serialize(batch)
        try:
            ok = self.exporter.export(data, timeout_millis=self.config.export.timeout * 1000).name == "SUCCESS"
        except Exception:  # an exporter bug must not lose the buffer: keep the cycles and retry
            _log.exception("export raised")
            ok = False
        if ok:
            self.buffer.ack(batch)
            self.exported_points += sum(len(c.points) for c in batch)
            if self._failing:
                _log.info("export recovered; delivering %d buffered cycles", self.buffer.depth)
                self._failing = False
        else:
            self.export_failures += 1
            if not self._failing:  # one line per outage, not one per retry
                _log.warning("export to %s failed; buffering cycles and retrying", self._safe_url())
                self._failing = True
        return ok

    def _export_loop(self) -> None:
        backoff = 0.0
        while True:
            result = self.export_batch()
            if result is None:
                if self._stopping.is_set():
                    return
                self._wake.wait()  # set by every pushed cycle and by shutdown: no idle polling
                self._wake.clear()
            elif result:
                backoff = 0.0
            else:
                backoff = min(max(backoff * 2, 1.0), MAX_BACKOFF)
                # While shutting down, keep trying until the deadline rather than sleeping through it.
                self._stopping.wait(0.2 if self._stopping.is_set() else backoff)

    def run(self, stop: threading.Event, reload: Callable[[], AgentConfig | None] | None = None) -> None:
        """Collect every interval until `stop` is set, then flush within the shutdown deadline."""
        exporter_thread = threading.Thread(target=self._export_loop, name="otel-agent-export", daemon=True)
        exporter_thread.start()
        _log.info("otel-agent collecting every %ss, exporting to %s", self.config.interval, self._safe_url())
        next_at = time.monotonic()
        while not stop.is_set():
            if reload is not None and (new := reload()) is not None:
                self.apply(new)
            self.collect_into_buffer()
            next_at += self.config.interval
            now = time.monotonic()
            if next_at < now:  # fell behind (suspend, overload): skip the missed slots
                next_at = now + self.config.interval
            stop.wait(next_at - now)
        self.shutdown(exporter_thread)

    def shutdown(self, exporter_thread: threading.Thread) -> None:
        """Final cycle, then deliver what is buffered before the deadline; spill the rest if configured."""
        self.collect_into_buffer()
        self._stopping.set()
        self._wake.set()
        exporter_thread.join(self.config.shutdown_timeout)
        left = self.buffer.depth
        if left:
            spilled = self.buffer.spill_all()
            _log.warning("shutdown deadline reached with %d cycles undelivered (%d spilled to disk)", left, spilled)
        else:
            _log.info("all buffered cycles delivered; exiting")
        self._source.close()

    def apply(self, config: AgentConfig) -> None:
        """Switch to a reloaded config; the buffer and its contents survive."""
        old = self.config
        self.config = config
        self._pipeline = Pipeline(filters_from(config), config.naming, config.cardinality_limit)
        self._top = self._make_top(config)
        if _source_key(config) != _source_key(old):
            self._source.close()
            self._source = _source_for(config)
        if config.export != old.export:
            with self._lock:
                previous, self._exporter = self._exporter, None
            if previous is not None:
                previous.shutdown(timeout_millis=1000)
        self.buffer.max_cycles = config.buffer.max_cycles
        self.buffer.max_bytes = int(config.buffer.max_mib * MIB)
        _log.info("configuration reloaded")

    def _safe_url(self) -> str:
        return redact_url(self.config.export.metrics_url())


def redact_url(url: str) -> str:
    """Hide credentials and query strings (tokens) before a URL reaches a log line."""
    return (
        re.sub(r"\?.*$", "?<redacted>", re.sub(r"//[^/@]+@", "//<redacted>@", url))
        if ("@" in url or "?" in url)
        else url
    )
