"""The simulator loop: every interval, each batch of hosts in its own slot, sent by a pool of exporter threads.

Spreading the batches over the interval keeps the collector's input even (a real fleet's agents are not
synchronised either). One thread builds requests; `senders` threads, each with its own exporter, send
them, so encoding the next batch overlaps with the network wait of the previous ones.

With `pre_encode`, every interval's requests are built and serialized before the first is sent, each
stamped with the time it is due, so while the fleet sends, the simulator only posts bytes: on a
machine shared with the stack, its CPU goes to the stack under test. (The agent self-metrics inside a
pre-encoded request are those of its preparation: `otel_agent.points.exported` stays at 0.)
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from heron_stack.simulate.fleet import Encoded, Fleet
from otel_agent.exporting import MetricsExporter

_log = logging.getLogger("heron.simulate")


@dataclass(frozen=True)
class IntervalReport:
    """What one interval sent and whether the simulator kept up."""

    index: int
    hosts: int
    points: int
    """Points the collector accepted."""
    failed_points: int
    requests: int
    failures: int
    lag: float
    """Seconds the latest batch started after its slot: 0 while the simulator keeps up."""
    finished: float
    """Seconds from the interval's start until its last request was answered."""
    interval: float
    slot: float = 0.0
    """Seconds between two batches' start times (interval / batches)."""

    @property
    def kept_up(self) -> bool:
        """Every batch started within one slot of its time, and the last answer came within one more slot."""
        return self.lag <= self.slot and self.finished <= self.interval + self.slot


class _Interval:
    """Counters of one interval, updated by the sender threads."""

    def __init__(self, index: int, start: float) -> None:
        self.index, self.start = index, start
        self.hosts = self.points = self.failed_points = self.requests = self.failures = self.pending = 0
        self.lag = 0.0
        self.produced = False


class Simulator:
    """Runs `fleet` every `interval` seconds; `make_exporter` is called once per sender thread.

    `on_start` is called as the first interval begins (after `pre_encode` built the requests)."""

    def __init__(
        self,
        fleet: Fleet,
        batches: Sequence[Sequence[int]],
        interval: float,
        make_exporter: Callable[[], MetricsExporter],
        *,
        senders: int = 4,
        timeout: float = 10.0,
        on_report: Callable[[IntervalReport], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        wait: Callable[[float], bool] | None = None,
        stop: threading.Event | None = None,
        pre_encode: bool = False,
        wall_clock: Callable[[], float] = time.time,
        on_start: Callable[[], None] | None = None,
    ) -> None:
        self.fleet = fleet
        self.batches = [tuple(b) for b in batches]
        self.interval = interval
        self._make_exporter = make_exporter
        self._senders = senders
        self._timeout_ms = timeout * 1000
        self._on_report = on_report
        self._clock = clock
        self._wall_clock = wall_clock
        self.pre_encode = pre_encode
        self._on_start = on_start
        self.stop = stop or threading.Event()
        self._wait = wait or self.stop.wait
        self.reports: list[IntervalReport] = []
        self._queue: queue.Queue[tuple[_Interval, Encoded] | None] = queue.Queue(maxsize=senders * 2)
        self._lock = threading.Lock()

    def run(self, cycles: int | None = None) -> list[IntervalReport]:
        """Run `cycles` intervals (None: until `stop` is set); return one report per interval."""
        prepared: list[list[Encoded]] | None = None
        if self.pre_encode:
            if cycles is None:
                raise ValueError("pre_encode needs a number of cycles: every request is built before the run")
            started, prepared = self._prepare(cycles)
        threads = [threading.Thread(target=self._send_loop, name=f"simulate-send-{n}") for n in range(self._senders)]
        for t in threads:
            t.start()
        try:
            if prepared is None:
                started = self._clock()
            elif self._wait_until(started):  # the requests are built before their time: start on time
                return []
            if self._on_start is not None:
                self._on_start()
            k = 0
            while (cycles is None or k < cycles) and not self.stop.is_set():
                self._produce(_Interval(k, started + k * self.interval), prepared[k] if prepared else None)
                k += 1
            if not self.stop.is_set():  # let the last interval's slots run out, as a real agent would
                self._wait_until(started + k * self.interval)
        finally:
            for _ in threads:
                self._queue.put(None)
            for t in threads:
                t.join()
        return sorted(self.reports, key=lambda r: r.index)

    def _wait_until(self, at: float) -> bool:
        """Sleep until `at` on the clock; True if stopped meanwhile."""
        delay = at - self._clock()
        return self._wait(delay) if delay > 0 else self.stop.is_set()

    def _prepare(self, cycles: int) -> tuple[float, list[list[Encoded]]]:
        """Every interval's requests, stamped from a start far enough ahead to build them all first;
        returns that start (on `clock`) and the requests per interval."""
        slot = self.interval / max(len(self.batches), 1)
        probe = self.fleet.head(len(self.batches[0]) if self.batches else 0)
        t0 = self._clock()
        probe.batch(range(len(probe))).encoded()
        per_batch = self._clock() - t0
        lead = 1.0 + 1.5 * per_batch * len(self.batches) * cycles
        wall_start, started = self._wall_clock() + lead, self._clock() + lead
        prepared = [
            [
                self.fleet.batch(hosts, int((wall_start + k * self.interval + j * slot) * 1e9)).encoded()
                for j, hosts in enumerate(self.batches)
            ]
            for k in range(cycles)
        ]
        if self._clock() > started:
            _log.warning("building the requests took longer than planned: the first interval starts late")
        return started, prepared

    def _produce(self, iv: _Interval, prepared: Sequence[Encoded] | None = None) -> None:
        slot = self.interval / max(len(self.batches), 1)
        for j, hosts in enumerate(self.batches):
            due = iv.start + j * slot
            if self._wait_until(due):
                break
            iv.lag = max(iv.lag, self._clock() - due)
            batch = prepared[j] if prepared is not None else self.fleet.batch(hosts).encoded()
            with self._lock:
                iv.pending += 1
            self._queue.put((iv, batch))
        with self._lock:
            iv.produced = True
            done = iv.pending == 0
        if done:
            self._finish(iv)

    def _send_loop(self) -> None:
        exporter: MetricsExporter | None = None
        try:
            while (item := self._queue.get()) is not None:
                iv, batch = item
                try:
                    exporter = exporter or self._make_exporter()
                    ok = exporter.export(batch.body, timeout_millis=self._timeout_ms).name == "SUCCESS"
                except Exception:  # one broken send must not stop the fleet; it counts as a failure
                    _log.exception("sending %d hosts failed", len(batch.hosts))
                    ok = False
                self._settle(iv, batch, ok)
        finally:
            if exporter is not None:
                exporter.shutdown(timeout_millis=1000)

    def _settle(self, iv: _Interval, batch: Encoded, ok: bool) -> None:
        with self._lock:
            self.fleet.settle(batch, ok)
            iv.requests += 1
            iv.hosts += len(batch.hosts)
            if ok:
                iv.points += batch.points
            else:
                iv.failures += 1
                iv.failed_points += batch.points
            iv.pending -= 1
            done = iv.produced and iv.pending == 0
        if done:
            self._finish(iv)

    def _finish(self, iv: _Interval) -> None:
        report = IntervalReport(
            iv.index, iv.hosts, iv.points, iv.failed_points, iv.requests, iv.failures, iv.lag,
            self._clock() - iv.start, self.interval, self.interval / max(len(self.batches), 1),
        )  # fmt: skip
        with self._lock:
            self.reports.append(report)
        if self._on_report is not None:
            self._on_report(report)
