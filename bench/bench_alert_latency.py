"""Benchmark alert latency: a metric breaches -> the notification reaches a webhook receiver.

Run: .venv/bin/python -m bench.bench_alert_latency [--long] [--trials K] [--intervals 1,5]
Starts a private stack (Redis, collector, Prometheus) on free loopback ports, Heron's real alert worker
and beat delivering to a local webhook receiver, and, in the same run and against the same Prometheus,
Prometheus' own rule manager sending to Debian's prometheus-alertmanager with a webhook to the same
receiver. Same rule file, same evaluation intervals, same grouping (group_wait 0 s, group_interval 1 s).
Writes docs/benchmarks/alert_latency.md and docs/img/bench_alert_latency.png.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import matplotlib
import yaml
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.metrics import CallbackOptions, Observation
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from bench._report import pct, peer_versions, stamp
from bench._stack import BenchStack, free_port, stratified, until

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "benchmarks" / "alert_latency.md"
IMG = ROOT / "docs" / "img" / "bench_alert_latency.png"
HERON, PEER = "Heron", "Prometheus + Alertmanager"
PATHS = {"/heron": HERON, "/alertmanager": PEER}
TIMEOUT_S = 30.0


@dataclass(frozen=True)
class Received:
    at: float
    side: str
    status: str
    alertnames: frozenset[str]


class Receiver:
    """A webhook receiver for both sides (Alertmanager's JSON): records when each notification arrived."""

    def __init__(self) -> None:
        self.events: list[Received] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                at = time.time()
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))) or b"{}")
                names = frozenset(a.get("labels", {}).get("alertname", "") for a in body.get("alerts", []))
                side = PATHS.get(self.path.split("?")[0], self.path)
                with receiver._lock:
                    receiver.events.append(Received(at, side, str(body.get("status", "")), names))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def first(self, side: str, alertname: str, status: str, after: float) -> float | None:
        with self._lock:
            times = [e.at for e in self.events if e.side == side and e.status == status and alertname in e.alertnames]
        return min((t for t in times if t >= after), default=None)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Feeder:
    """Sends `heron.bench.breach` (one series per interval) over OTLP every second; `step` exports at once."""

    def __init__(self, otlp_http: str, intervals: Sequence[int]) -> None:
        self.value = 0.0
        self._intervals = intervals
        exporter = OTLPMetricExporter(endpoint=f"{otlp_http}/v1/metrics")
        self._reader = PeriodicExportingMetricReader(exporter, export_interval_millis=1000)
        self._provider = MeterProvider(
            resource=Resource.create({"service.name": "heron-bench"}), metric_readers=[self._reader]
        )
        self._provider.get_meter("heron.bench").create_observable_gauge("heron.bench.breach", [self._observe])

    def _observe(self, _options: CallbackOptions) -> Iterable[Observation]:
        return [Observation(self.value, {"bench.interval": f"{i}s"}) for i in self._intervals]

    def step(self, value: float) -> float:
        """Set the value and export it now; returns the new sample's time (the breach time)."""
        self.value = value
        at = time.time()
        self._reader.force_flush()
        return at

    def close(self) -> None:
        self._provider.shutdown()


def alertname(interval: int) -> str:
    return f"BenchBreach{interval}s"


def rule_file(intervals: Sequence[int]) -> str:
    """One Prometheus rule file both sides load: a group per evaluation interval, `for: 0s`."""
    groups = [
        {
            "name": f"bench-{i}s",
            "interval": f"{i}s",
            "rules": [
                {
                    "alert": alertname(i),
                    "expr": f'heron_bench_breach{{bench_interval="{i}s"}} > 0.5',
                    "for": "0s",
                    "labels": {"severity": "warning"},
                    "annotations": {"summary": f"benchmark breach ({i} s evaluation interval)"},
                }
            ],
        }
        for i in intervals
    ]
    return yaml.safe_dump({"groups": groups}, sort_keys=False)


HERON_ROUTING = """
route:
  receivers: [bench]
  group_by: [alertname]
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 4h
  cooldown: 0s
  send_resolved: true
"""

ALERTMANAGER = """
route:
  receiver: bench
  group_by: [alertname]
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 4h
receivers:
  - name: bench
    webhook_configs:
      - url: {url}/alertmanager
        send_resolved: true
"""


@dataclass
class Series:
    side: str
    interval: int
    firing: list[float] = field(default_factory=list)
    resolved: list[float] = field(default_factory=list)
    missed: int = 0


def _wait_all(receiver: Receiver, results: list[Series], status: str, after: float) -> None:
    """Record, per side and interval, how long after `after` the first `status` notification arrived."""
    pending = list(results)
    deadline = after + TIMEOUT_S
    while pending and time.time() < deadline:
        for series in list(pending):
            at = receiver.first(series.side, alertname(series.interval), status, after)
            if at is not None:
                (series.firing if status == "firing" else series.resolved).append(at - after)
                pending.remove(series)
        time.sleep(0.02)
    for series in pending:
        series.missed += 1


def _configure(stack: BenchStack, receiver: Receiver, intervals: Sequence[int]) -> None:
    rules = stack.dir / "bench.rules.yml"
    rules.write_text(rule_file(intervals), encoding="utf-8")
    routing = stack.dir / "bench.routing.yaml"
    routing.write_text(HERON_ROUTING, encoding="utf-8")
    destinations = stack.dir / "destinations.yaml"
    destinations.write_text(
        yaml.safe_dump({"destinations": {"bench": {"type": "webhook", "url": f"{receiver.url}/heron"}}}),
        encoding="utf-8",
    )
    am_port = free_port()
    am_config = stack.dir / "alertmanager.yml"
    am_config.write_text(ALERTMANAGER.format(url=receiver.url), encoding="utf-8")
    stack.start_binary(
        "alertmanager",
        [
            "prometheus-alertmanager",
            f"--config.file={am_config}",
            f"--storage.path={stack.dir / 'alertmanager'}",
            f"--web.listen-address=127.0.0.1:{am_port}",
            "--cluster.listen-address=",  # a single instance: no gossip, no peer wait before sending
        ],
        f"http://127.0.0.1:{am_port}/-/ready",
    )
    stack.extend_prometheus(rule_files=[rules], alertmanager=f"127.0.0.1:{am_port}")
    env = {
        "HERON_ALERTS_RULE_FILES": str(rules),
        "HERON_ALERTS_ROUTING_FILE": str(routing),
        "HERON_ALERTS_DESTINATIONS_FILE": str(destinations),
        # Every trial fires and resolves; Prometheus has no flap hold, so neither may Heron here.
        "HERON_ALERTS_FLAP_THRESHOLD": "1000000",
        "OTEL_LOGS_EXPORTER": "none",
    }
    stack.start_heron("alert-worker", env=env)
    stack.start_heron("alert-sender", env=env)
    stack.start_heron("alert-beat", env=env)


def run(trials: int, intervals: Sequence[int]) -> list[Series]:
    receiver = Receiver()
    with BenchStack(["redis", "prometheus", "collector"], prefix="heron-bench-alert-latency-") as stack:
        feeder = Feeder(stack.config.url("otlp_http"), intervals)
        try:
            until(lambda: len(stack.query("heron_bench_breach")) == len(intervals), 60, "heron_bench_breach")
            _configure(stack, receiver, intervals)
            time.sleep(2 * max(intervals) + 2)  # both sides have evaluated every group at least once
            results = [Series(side, i) for i in intervals for side in (HERON, PEER)]
            rng = random.Random(5)
            # Each step waits for notifications, which arrive in step with the evaluations: spread pauses
            # put breaches and recoveries at every phase of both schedules.
            breaches, recoveries = stratified(trials, rng), stratified(trials, rng)
            for n in range(trials):
                time.sleep(1.0 + breaches[n] * max(intervals))
                _wait_all(receiver, results, "firing", feeder.step(1.0))
                time.sleep(0.5 + recoveries[n] * max(intervals))
                _wait_all(receiver, results, "resolved", feeder.step(0.0))
                print(
                    f"trial {n + 1}/{trials}: "
                    + ", ".join(f"{r.side} {r.interval}s {r.firing[-1]:.2f}s" for r in results if r.firing),
                    flush=True,
                )
            return results
        finally:
            feeder.close()
            receiver.close()


def _row(series: Series) -> str:
    f, r = series.firing, series.resolved
    return (
        f"| {series.interval} s | {series.side} | {pct(f, 50).format()} | {pct(f, 95).format()} "
        f"| {max(f, default=float('nan')):.2f} | {pct(r, 50).format()} | {pct(r, 95).format()} | {series.missed} |"
    )


def _ratios(results: list[Series], intervals: Sequence[int]) -> str:
    lines = []
    for i in intervals:
        heron = next(r for r in results if r.side == HERON and r.interval == i)
        peer = next(r for r in results if r.side == PEER and r.interval == i)
        h50, p50 = pct(heron.firing, 50), pct(peer.firing, 50)
        h95, p95 = pct(heron.firing, 95), pct(peer.firing, 95)
        r50 = pct(heron.resolved, 50).value / pct(peer.resolved, 50).value
        lines.append(
            f"- {i} s evaluation interval: firing p50 **{h50.value / p50.value:.2f}x** (n = {h50.n} / {p50.n}), "
            f"{h95.name} **{h95.value / p95.value:.2f}x**; resolved p50 {r50:.2f}x"
        )
    return "\n".join(lines)


def plot(results: list[Series]) -> None:
    IMG.parent.mkdir(parents=True, exist_ok=True)
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, kind in zip(axes, ("firing", "resolved"), strict=True):
        for series in results:
            xs = sorted(series.firing if kind == "firing" else series.resolved)
            style = "-" if series.side == HERON else "--"
            label = f"{series.side}, {series.interval} s"
            ax.step(xs, [(n + 1) / len(xs) for n in range(len(xs))], style, where="post", label=label)
        ax.set_xlabel(f"{'breach' if kind == 'firing' else 'recovery'} -> {kind} notification received (s)")
        ax.set_ylabel("fraction of trials")
        ax.set_title(f"{kind.capitalize()} notification (CDF)")
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(IMG, dpi=100)
    plt.close(fig)


def write_report(
    results: list[Series], trials: int, intervals: Sequence[int], long: bool, versions: dict[str, str]
) -> None:
    DOC.parent.mkdir(parents=True, exist_ok=True)
    rows = "\n".join(_row(r) for r in results)
    listed = " and ".join(f"{i} s" for i in intervals)
    DOC.write_text(
        f"""## Alert latency

{stamp()}

Time from a breach to the notification arriving at a webhook receiver, Heron beside Prometheus +
Alertmanager in the same run. A gauge `heron.bench.breach` is sent over OTLP every second to the real
collector {versions["collector"]} (batch 200 ms, remote write) into Debian's Prometheus
{versions["prometheus"]}; at the breach it steps from 0 to 1 and is exported at once. **Breach** = that
sample's timestamp; **received** = the receiver's HTTP handler got the notification for that alert. The
recovery steps it back to 0 and times the resolved notification alike.

- Heron: the real `alert-worker worker` (Celery, concurrency 2) and `alert-worker beat` (RedBeat) with a
  private redis-server {versions["redis"]}, delivering through the `webhook` channel (Alertmanager JSON).
- Peer: the same Prometheus evaluating the same rule file, sending to Debian's Alertmanager
  {versions["alertmanager"]} (single instance, no cluster) with a `webhook_config` to the same receiver.
- Both: one rule per evaluation interval ({listed}), `expr: heron_bench_breach{{bench_interval="…"}} > 0.5`,
  `for: 0s`; `group_by: [alertname]`, `group_wait: 0s`, `group_interval: 1s`, `repeat_interval: 4h`,
  resolved notifications on (Heron: `cooldown: 0s`, flap hold off since every trial fires and resolves).
- {trials} breaches, each 1 to {1 + max(intervals)} s after the previous resolved notifications (recoveries: 0.5 to
  {0.5 + max(intervals):g} s after the firing ones), pauses spread evenly over that range across the trials, so the
  steps fall at every phase of both evaluation schedules.

| interval | side | firing p50 s | firing p95 s (or max of n) | firing max s | resolved p50 s \
| resolved p95 s (or max of n) | missed |
|---|---|---|---|---|---|---|---|
{rows}

Heron / Prometheus + Alertmanager (below 1: Heron was faster):

{_ratios(results, intervals)}

A p95 is named only with at least 40 breaches (`--long`); with fewer the tail columns give the maximum and
say so. With few breaches the 5 s rows are dominated by where each breach fell in the interval.

The floor for both is the trip into Prometheus (collector batch up to 200 ms, remote write) plus the wait
for the next evaluation (uniform over one interval); after that Heron goes through Celery (beat -> Redis ->
worker -> evaluation -> outbox -> delivery task) and Prometheus through its notifier and Alertmanager's
aggregation group.

![alert latency](../img/bench_alert_latency.png)

The machine is shared with other engineers' jobs, so the numbers are noisy.
Reproduce: `.venv/bin/python -m bench.bench_alert_latency{" --long" if long else ""}`.
""",
        encoding="utf-8",
    )


def _intervals(text: str) -> list[int]:
    try:
        values = sorted({int(part) for part in text.split(",") if part.strip()})
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: give whole seconds separated by commas, e.g. 1,5") from None
    if not values or values[0] < 1 or values[-1] > 60:
        raise argparse.ArgumentTypeError(f"{text!r}: each interval must be 1 to 60 seconds")
    return values


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--long", action="store_true", help="40 breaches instead of 8")
    parser.add_argument("--trials", type=int, help="number of breaches (overrides --long)")
    parser.add_argument("--intervals", type=_intervals, default=[1, 5], help="evaluation intervals, s (default 1,5)")
    args = parser.parse_args(argv)
    trials = args.trials or (40 if args.long else 8)
    if trials < 2:
        parser.error(f"--trials {trials}: need at least 2 breaches for percentiles")
    versions = peer_versions("prometheus", "alertmanager", "redis", "collector")
    results = run(trials, args.intervals)
    if not all(r.firing and r.resolved for r in results):
        print("some side never notified; see the stack logs", file=sys.stderr)
        return 1
    plot(results)
    write_report(results, trials, args.intervals, args.long, versions)
    print(f"wrote {DOC.relative_to(ROOT)} and {IMG.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
