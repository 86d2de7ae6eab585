"""Traffic: HTTP GETs at a target arrival rate from a separate process, reporting rate, latency and errors."""

from __future__ import annotations

import json
import math
import queue
import threading
import time
from collections import deque
from typing import Any, ClassVar

from loadgen.actions import workers
from loadgen.actions.base import Action, ActionEnv
from loadgen.actions.traffic_worker import FLUSH_INTERVAL
from loadgen.budget import Reservation
from loadgen.targets import Target
from loadgen.validation import TrafficRequest

RATE_WINDOW = 2.0
RESERVOIR = 5000
STOP_DRAIN = 0.8


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile of `values` (0 when empty)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = min(len(ordered) - 1, max(0, math.ceil(q * len(ordered) - 1e-9) - 1))
    return ordered[rank]


class Traffic(Action):
    """Sends `requests_per_sec` GETs for `duration_seconds` to already-vetted `targets`."""

    kind: ClassVar[str] = "traffic"

    def __init__(self, request: TrafficRequest, env: ActionEnv, targets: tuple[Target, ...]) -> None:
        super().__init__()
        self.rate = request.requests_per_sec
        self.duration = request.duration_seconds
        self.concurrency = request.concurrency
        self.targets = targets
        self._env = env
        own = env.config.own_url
        self._headers = {"User-Agent": "heron-loadgen"}
        self._auth_urls = all(t.shown.startswith(own + "/") for t in targets)
        self._latencies: deque[float] = deque(maxlen=RESERVOIR)
        self._window: deque[tuple[float, int]] = deque()
        self._totals = {"sent": 0, "ok": 0, "failed": 0, "dropped": 0}
        self._first_batch: float | None = None
        self._report(0.0, target_rate=self.rate, achieved_rate=0.0, sent=0.0, ok=0.0, failed=0.0, dropped=0.0)

    @property
    def expected_seconds(self) -> float:
        return self.duration

    def reservation(self) -> Reservation:
        return Reservation(traffic_rate=self.rate)

    def run(self, stop: threading.Event) -> None:
        headers = dict(self._headers)
        if self._env.auth_header and self._auth_urls:
            headers["Authorization"] = self._env.auth_header
        settings = {
            "targets": [t.to_json() for t in self.targets],
            "rate": self.rate,
            "duration": self.duration,
            "concurrency": self.concurrency,
            "headers": headers,
            "trace_service": self._env.config.service_name if self._env.trace_export else None,
        }
        started = time.monotonic()
        proc = workers.spawn("loadgen.actions.traffic_worker", [], capture=True, stdin=json.dumps(settings))
        lines: queue.Queue[str | None] = queue.Queue()
        reader = threading.Thread(target=_read_lines, args=(proc, lines), daemon=True)
        reader.start()
        try:
            self._drain(stop, proc, lines, started)
        finally:
            workers.stop([proc], timeout=1.0)

    def _drain(self, stop: threading.Event, proc: Any, lines: queue.Queue[str | None], started: float) -> None:
        stop_deadline: float | None = None
        while True:
            if stop.is_set() and stop_deadline is None:
                proc.terminate()
                stop_deadline = time.monotonic() + STOP_DRAIN
            if stop_deadline is not None and time.monotonic() > stop_deadline:
                return
            try:
                line = lines.get(timeout=0.1)
            except queue.Empty:
                continue
            batch = json.loads(line) if line is not None else None
            if batch is None:
                return
            self._absorb(batch, started)

    def _absorb(self, batch: dict[str, Any], started: float) -> None:
        now = time.monotonic()
        if self._first_batch is None:
            self._first_batch = now - FLUSH_INTERVAL
        latencies: list[float] = batch["latencies"]
        sent = batch["ok"] + batch["failed"]
        for key in ("ok", "failed", "dropped"):
            self._totals[key] += batch[key]
        self._totals["sent"] += sent
        self._latencies.extend(latencies)
        self._window.append((now, sent))
        while self._window and self._window[0][0] < now - RATE_WINDOW:
            self._window.popleft()
        span = min(RATE_WINDOW, max(0.25, now - started))
        recent = list(self._latencies)
        self._env.recorder.traffic(batch["ok"], batch["failed"], batch["dropped"], latencies)
        self._report(
            (now - started) / self.duration,
            achieved_rate=round(sum(n for _, n in self._window) / span, 1),
            mean_rate=round(self._totals["sent"] / max(FLUSH_INTERVAL, now - self._first_batch), 1),
            sent=float(self._totals["sent"]),
            ok=float(self._totals["ok"]),
            failed=float(self._totals["failed"]),
            dropped=float(self._totals["dropped"]),
            latency_p50_ms=round(percentile(recent, 0.5) * 1000, 2),
            latency_p95_ms=round(percentile(recent, 0.95) * 1000, 2),
            latency_p99_ms=round(percentile(recent, 0.99) * 1000, 2),
        )


def _read_lines(proc: Any, lines: queue.Queue[str | None]) -> None:
    for line in proc.stdout:
        if line.strip():
            lines.put(line)
    lines.put(None)
