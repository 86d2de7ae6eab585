"""`heron simulate`: wiring (fleet, exporters, signals) and the per-interval report lines."""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from importlib import metadata
from typing import TextIO

from heron_stack.simulate.config import SimulateConfig, options_from, resolve
from heron_stack.simulate.fleet import Fleet, plan_batches
from heron_stack.simulate.profiles import make_profiles
from heron_stack.simulate.runner import IntervalReport, Simulator
from otel_agent.exporting import MetricsExporter


def _version() -> str:
    try:
        return metadata.version("heron-stack")
    except metadata.PackageNotFoundError:
        return "0.0.0"


def exporter_factory(cfg: SimulateConfig) -> Callable[[], MetricsExporter]:
    """The agent's own OTLP exporter, one per sender thread."""
    from otel_agent.config import ExportConfig
    from otel_agent.exporting import make_exporter

    export = ExportConfig(
        metrics_endpoint=cfg.endpoint,
        protocol="grpc" if cfg.protocol == "grpc" else "http/protobuf",
        headers=dict(cfg.headers),
        timeout=cfg.timeout,
        compression="none" if cfg.compression == "none" else "gzip",
        logs=False,
    )
    return lambda: make_exporter(export)


def format_report(r: IntervalReport) -> str:
    state = "keeping up" if r.kept_up else "BEHIND"
    failed = f", {r.failures} failed ({r.failed_points} points)" if r.failures else ", 0 failed"
    return (
        f"interval {r.index + 1}: {r.hosts} hosts, {r.points} points in {r.requests} requests{failed}; "
        f"lag {r.lag:.2f}s, done after {r.finished:.1f}s ({state})"
    )


def build_simulator(
    cfg: SimulateConfig, make_exporter: Callable[[], MetricsExporter], on_report: Callable[[IntervalReport], None]
) -> Simulator:
    fleet = Fleet(
        make_profiles(cfg.hosts, cfg.prefix, cfg.seed),
        service_name=cfg.service_name,
        version=_version(),
        attributes=cfg.attributes,
    )
    batches = plan_batches(cfg.hosts, cfg.batch_hosts)
    senders = min(cfg.senders, len(batches))
    return Simulator(
        fleet,
        batches,
        cfg.interval,
        make_exporter,
        senders=senders,
        timeout=cfg.timeout,
        on_report=on_report,
        pre_encode=cfg.pre_encode,
    )


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """Resolve the config, run the fleet, print one line per interval and a total; 1 if anything failed."""
    out = out or sys.stdout
    cfg = resolve(options_from(args))
    length = f"{cfg.cycles} intervals" if cfg.cycles else "until Ctrl-C"
    print(
        f"simulating {cfg.hosts} hosts ({cfg.prefix}0..{cfg.prefix}{cfg.hosts - 1}, seed {cfg.seed}) every "
        f"{cfg.interval:g}s, {length}, to {_redact(cfg.endpoint)} over {cfg.protocol}",
        file=out,
        flush=True,
    )
    sim = build_simulator(cfg, exporter_factory(cfg), lambda r: print(format_report(r), file=out, flush=True))
    with _stop_on_signals(sim.stop):
        reports = sim.run(cfg.cycles)
    sent = sum(r.points for r in reports)
    failed = sum(r.failed_points for r in reports)
    behind = sum(not r.kept_up for r in reports)
    print(
        f"total: {sent} points sent in {sum(r.requests for r in reports)} requests, {failed} points failed, "
        f"{behind} of {len(reports)} intervals behind",
        file=out,
        flush=True,
    )
    return 1 if failed else 0


def _redact(url: str) -> str:
    from otel_agent.agent import redact_url

    return redact_url(url)


@contextlib.contextmanager
def _stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """SIGINT and SIGTERM end the run after the current batch instead of killing it mid-send."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
