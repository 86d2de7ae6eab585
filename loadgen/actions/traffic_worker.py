"""The traffic generator run as `python -m loadgen.actions.traffic_worker`, its settings as JSON on stdin.

Each target comes vetted by `loadgen.targets`: the worker connects to the checked address in its URL
and names the original host in `Host` (and as the TLS server name); redirects are never followed.
Open-model arrivals and a bounded pool of sender threads; stat batches go to stdout as JSON lines, ending
with `null`. Stops at the deadline or on SIGTERM. Kept free of Flask; OpenTelemetry tracing is imported
only when trace export is on.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from types import FrameType
from typing import Any

import urllib3
from urllib3.util import parse_url

FLUSH_INTERVAL = 0.25
LONGEST_SLEEP = 0.05
DRAIN_SECONDS = 1.0
MAX_SENDER_THREADS = 64
TIMEOUT = urllib3.Timeout(connect=2.0, read=5.0)

SpanFactory = Callable[[str, dict[str, str]], AbstractContextManager[Any]]


class _Stats:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.in_flight = 0
        self.ok = self.failed = self.dropped = 0
        self.latencies: list[float] = []

    def take(self) -> dict[str, Any]:
        with self.lock:
            batch = {"ok": self.ok, "failed": self.failed, "dropped": self.dropped, "latencies": self.latencies}
            self.ok = self.failed = self.dropped = 0
            self.latencies = []
        return batch


def _no_span(_url: str, _headers: dict[str, str]) -> AbstractContextManager[Any]:
    return nullcontext()


def _tracing(service_name: str) -> tuple[SpanFactory, Callable[[], None]]:
    from opentelemetry import baggage, propagate, trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    tracer = provider.get_tracer("loadgen.traffic")

    def span(url: str, headers: dict[str, str]) -> AbstractContextManager[Any]:
        cm = tracer.start_as_current_span(
            "GET", kind=trace.SpanKind.CLIENT, attributes={"http.request.method": "GET", "url.full": url}
        )
        ctx = baggage.set_baggage("synthetic_request", "true")
        propagate.inject(headers, context=ctx)
        return cm

    return span, provider.shutdown


@dataclass(frozen=True)
class _Target:
    pool: urllib3.HTTPConnectionPool
    path: str
    host: str
    shown: str


def _targets(targets: Sequence[Mapping[str, str]], concurrency: int) -> list[_Target]:
    out = []
    for target in targets:
        options: dict[str, Any] = {"maxsize": concurrency, "block": False, "retries": False, "timeout": TIMEOUT}
        if target["url"].startswith("https://"):
            options.update(server_hostname=target["server_name"], assert_hostname=target["server_name"])
        pool = urllib3.connection_from_url(target["url"], **options)
        out.append(_Target(pool, parse_url(target["url"]).request_uri, target["host"], target["shown"]))
    return out


def generate(
    targets: Sequence[Mapping[str, str]],
    rate: float,
    duration: float,
    concurrency: int,
    stop: Any,
    out: Any,
    headers: dict[str, str],
    trace_service: str | None = None,
) -> None:
    """Send GETs to `targets` (round robin) at `rate` per second; push stat batches to `out`, then None."""
    span, shutdown = _tracing(trace_service) if trace_service else (_no_span, lambda: None)
    pools = _targets(targets, concurrency)
    stats = _Stats()
    work: queue.SimpleQueue[_Target | None] = queue.SimpleQueue()
    senders = [
        threading.Thread(target=_send_loop, args=(work, stats, headers, span), daemon=True)
        for _ in range(min(concurrency, MAX_SENDER_THREADS))
    ]
    for sender in senders:
        sender.start()
    try:
        _schedule(pools, rate, duration, concurrency, stop, out, stats, work)
    finally:
        for _ in senders:
            work.put(None)
        deadline = time.monotonic() + DRAIN_SECONDS
        for sender in senders:
            sender.join(max(0.0, deadline - time.monotonic()))
        out.put(stats.take())
        out.put(None)
        shutdown()


def _schedule(
    urls: Sequence[_Target],
    rate: float,
    duration: float,
    concurrency: int,
    stop: Any,
    out: Any,
    stats: _Stats,
    work: queue.SimpleQueue[_Target | None],
) -> None:
    start = last_flush = time.perf_counter()
    issued = 0
    parent = os.getppid()
    while not stop.is_set() and os.getppid() == parent:
        elapsed = time.perf_counter() - start
        if elapsed >= duration:
            return
        due = min(int(elapsed * rate) + 1, int(duration * rate)) - issued
        for _ in range(max(0, due)):
            url = urls[issued % len(urls)]
            issued += 1
            with stats.lock:
                admitted = stats.in_flight < concurrency
                if admitted:
                    stats.in_flight += 1
                else:
                    stats.dropped += 1
            if admitted:
                work.put(url)
        now = time.perf_counter()
        if now - last_flush >= FLUSH_INTERVAL:
            out.put(stats.take())
            last_flush = now
        time.sleep(min(LONGEST_SLEEP, max(0.0005, issued / rate - (now - start))))


def _send_loop(
    work: queue.SimpleQueue[_Target | None],
    stats: _Stats,
    headers: dict[str, str],
    span: SpanFactory,
) -> None:
    while (target := work.get()) is not None:
        sent_headers = {**headers, "Host": target.host}
        t0 = time.perf_counter()
        status = 0
        with span(target.shown, sent_headers) as current:
            try:
                response = target.pool.urlopen(
                    "GET", target.path, headers=sent_headers, redirect=False, retries=False, assert_same_host=False
                )
                status = response.status
            except urllib3.exceptions.HTTPError:
                status = 0
            if current is not None:
                current.set_attribute("http.response.status_code", status)
        latency = time.perf_counter() - t0
        with stats.lock:
            stats.in_flight -= 1
            if 0 < status < 400:
                stats.ok += 1
            else:
                stats.failed += 1
            stats.latencies.append(latency)


class _StdoutBatches:
    """`out.put(batch)` writes one JSON line; None ends the stream."""

    def put(self, batch: dict[str, Any] | None) -> None:
        sys.stdout.write(json.dumps(batch) + "\n")
        sys.stdout.flush()


def main(argv: list[str] | None = None) -> int:
    """Entry point: one JSON object on stdin with targets, rate, duration, concurrency, headers, trace_service.

    Settings come on stdin, not argv, so no input size can hit the kernel's argument-length limit.
    """
    del argv
    settings = json.loads(sys.stdin.read())
    stop = threading.Event()

    def on_term(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_term)
    generate(
        settings["targets"],
        float(settings["rate"]),
        float(settings["duration"]),
        int(settings["concurrency"]),
        stop,
        _StdoutBatches(),
        dict(settings["headers"]),
        settings.get("trace_service"),
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
