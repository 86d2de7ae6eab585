"""Benchmark logs: the collector's ceiling for OTLP logs, the same through VictoriaLogs, and log panel queries.

Run: .venv/bin/python -m bench.bench_logs [--seconds S] [--senders N] [--lines N] [--runs N]
1. Ceiling: Heron's collector (its own binary and otel-collector.yaml, the logs pipeline ending in the
   `debug` exporter at verbosity basic through a `--config=yaml:` overlay) fed pre-encoded OTLP/HTTP
   protobuf requests by N sender processes for S seconds.
2. Store: the same senders through the stack's collector into VictoriaLogs for S seconds; every line the
   collector accepted is then counted in VictoriaLogs with LogsQL, polling until a deadline.
3. Queries: every LogsQL query of the shipped dashboards (panels and annotations), timed against
   VictoriaLogs holding at least --lines lines (topped up through /insert/jsonline).
Writes docs/benchmarks/logs.md and docs/img/bench_logs.png.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import multiprocessing as mp
import os
import random
import re
import shutil
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from multiprocessing.context import ForkContext, SpawnContext
from multiprocessing.sharedctypes import Synchronized
from pathlib import Path

import httpx
import matplotlib
import psutil
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord, ResourceLogs, ScopeLogs
from opentelemetry.proto.resource.v1.resource_pb2 import Resource

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from bench._stack import BenchStack, percentile
from heron_stack import logsql
from heron_stack.dashboards import render_all
from heron_stack.dashboards._panels import LOGS_TYPE
from heron_stack.dashboards.checks import queries, substitute

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "benchmarks" / "logs.md"
IMG = ROOT / "docs" / "img" / "bench_logs.png"
GOAL_LINES_S = 20_000
RECORDS_PER_REQUEST = 2000
BODIES_PER_SENDER = 8
DRAIN_DEADLINE_S = 180.0
WINDOW_S = 1800  # the dashboards open on the last 30 minutes
PANEL_LIMIT = 1000  # the datasource's maxLines (grafana/provisioning/datasources/heron.yaml)
DEBUG_OVERLAY = "yaml:service::pipelines::logs::exporters: [debug]"
STREAM_FIELDS = "service.name,host.name,deployment.environment.name"
APPS = ["checkout", "cart", "payments", "search", "inventory", "shipping"]
HERON_PARTS = ["heron-alert-worker", "heron-alert-sender", "heron-alert-beat"]
ALERT_WORDS = ["firing", "resolved", "pending", "notification queued", "delivered", "sent", "evaluated", "skipped"]
LOADGEN_EVENTS = ["action_started", "action_completed", "action_stopped", "scenario_started", "scenario_finished"]
APP_WORDS = ["order placed", "cart saved", "payment failed", "GET /orders", "cache miss", "retrying upstream call"]
SEVERITIES = [("INFO", 9)] * 8 + [("WARN", 13), ("ERROR", 17)]


# ---- synthetic log lines, shaped like what the collector writes for Heron's parts and SDK apps ----


@dataclass(frozen=True)
class Line:
    service: str
    host: str
    severity: tuple[str, int]
    message: str
    trace_id: str
    attributes: dict[str, str]


def line(rng: random.Random, env: str) -> Line:
    """85% app services, 10% alert worker parts, 5% loadgen (half of those load lab events)."""
    roll = rng.random()
    host = f"bench-host-{rng.randrange(8)}"
    trace = f"{rng.getrandbits(128):032x}"
    attrs = {"code.function": rng.choice(["handle", "run", "emit", "flush"])}
    if roll < 0.85:
        service, message = rng.choice(APPS), f"{rng.choice(APP_WORDS)} id={rng.randrange(10**6)}"
    elif roll < 0.95:
        service, message = rng.choice(HERON_PARTS), f"rule Rule{rng.randrange(40)} {rng.choice(ALERT_WORDS)}"
        trace = ""
    else:
        service, message = "heron-loadgen", f"worker tick {rng.randrange(10**6)}"
        if rng.random() < 0.5:
            attrs["event.type"] = rng.choice(LOADGEN_EVENTS)
            message = f"cpu-stress {attrs['event.type'].replace('_', ' ')}"
    del env
    return Line(service, host, rng.choice(SEVERITIES), message, trace, attrs)


def _kv(key: str, value: str) -> KeyValue:
    return KeyValue(key=key, value=AnyValue(string_value=value))


def otlp_body(rng: random.Random, env: str, count: int) -> bytes:
    """One ExportLogsServiceRequest of `count` records, grouped by resource; no timestamps (the store stamps them)."""
    groups: dict[tuple[str, str], list[Line]] = {}
    for item in (line(rng, env) for _ in range(count)):
        groups.setdefault((item.service, item.host), []).append(item)
    request = ExportLogsServiceRequest()
    for (service, host), items in groups.items():
        resource = Resource(
            attributes=[_kv("service.name", service), _kv("host.name", host), _kv("deployment.environment.name", env)]
        )
        records = [
            LogRecord(
                severity_text=item.severity[0],
                severity_number=item.severity[1],  # type: ignore[arg-type]
                body=AnyValue(string_value=item.message),
                trace_id=bytes.fromhex(item.trace_id) if item.trace_id else b"",
                attributes=[_kv(k, v) for k, v in item.attributes.items()],
            )
            for item in items
        ]
        request.resource_logs.append(ResourceLogs(resource=resource, scope_logs=[ScopeLogs(log_records=records)]))
    body: bytes = request.SerializeToString()
    return body


def jsonl_chunk(rng: random.Random, env: str, count: int, start_s: float, span_s: float) -> bytes:
    """Lines for /insert/jsonline, the fields VictoriaLogs keeps from the collector's OTLP records."""
    out = []
    for _ in range(count):
        item = line(rng, env)
        row = {
            "_time": f"{int((start_s + rng.random() * span_s) * 1e9)}",
            "_msg": item.message,
            "service.name": item.service,
            "host.name": item.host,
            "deployment.environment.name": env,
            "severity_text": item.severity[0],
            "severity_number": str(item.severity[1]),
            **({"trace_id": item.trace_id} if item.trace_id else {}),
            **item.attributes,
        }
        out.append(json.dumps(row))
    return ("\n".join(out) + "\n").encode()


# ---- senders: processes posting pre-encoded requests as fast as the receiver takes them ----


@dataclass(frozen=True)
class Shared:
    """Counters the sender processes add to: lines accepted and refused, their CPU time, when the last one ended."""

    accepted: Synchronized[int]
    refused: Synchronized[int]
    cpu_s: Synchronized[float]
    ended: Synchronized[float]

    @classmethod
    def new(cls, ctx: SpawnContext | ForkContext) -> Shared:
        return cls(ctx.Value("q", 0), ctx.Value("q", 0), ctx.Value("d", 0.0), ctx.Value("d", 0.0))

    @staticmethod
    def add(value: Synchronized[int] | Synchronized[float], amount: float) -> None:
        with value.get_lock():
            value.value += amount


def sender(url: str, seed: int, env: str, start_at: float, stop_at: float, shared: Shared) -> None:
    rng = random.Random(seed)
    bodies = [otlp_body(rng, env, RECORDS_PER_REQUEST) for _ in range(BODIES_PER_SENDER)]
    headers = {"Content-Type": "application/x-protobuf"}
    time.sleep(max(0.0, start_at - time.time()))
    cpu0 = time.process_time()
    with httpx.Client(timeout=60.0, headers=headers) as client:
        i = 0
        while time.time() < stop_at:
            try:
                resp = client.post(url, content=bodies[i % len(bodies)])
            except httpx.HTTPError:
                # A timed-out request may still have been accepted; zero loss is then judged as "at least".
                Shared.add(shared.refused, RECORDS_PER_REQUEST)
                continue
            if resp.status_code != 200:
                Shared.add(shared.refused, RECORDS_PER_REQUEST)
                time.sleep(0.05)  # backpressure (memory limiter, full queue): back off a little, then retry
                continue
            rejected = ExportLogsServiceResponse.FromString(resp.content).partial_success.rejected_log_records
            Shared.add(shared.accepted, RECORDS_PER_REQUEST - rejected)
            Shared.add(shared.refused, rejected)
            i += 1
    Shared.add(shared.cpu_s, time.process_time() - cpu0)
    with shared.ended.get_lock():
        shared.ended.value = max(shared.ended.value, time.time())


# ---- measurement helpers ----


def binary_of(stack: BenchStack, name: str) -> psutil.Process:
    """The service's own process (the runner's pid is its supervisor)."""
    pid = stack.stack.runner.state(name).pid
    if pid is None:
        raise RuntimeError(f"{name} is not running")
    children = psutil.Process(pid).children(recursive=True)
    if not children:
        raise RuntimeError(f"{name}: its supervisor has no child process")
    return children[0]


class Peaks:
    """Peak RSS of some processes, sampled every 200 ms in a thread, per labelled phase."""

    def __init__(self) -> None:
        self.procs: dict[str, psutil.Process] = {}
        self.phase = ""
        self.peak: dict[tuple[str, str], int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Peaks:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            for name, proc in list(self.procs.items()):
                try:
                    rss = proc.memory_info().rss
                except psutil.Error:
                    continue
                key = (self.phase, name)
                self.peak[key] = max(self.peak.get(key, 0), rss)

    def mib(self, phase: str, name: str) -> float:
        return self.peak.get((phase, name), 0) / 2**20


def metric_sum(http: httpx.Client, url: str, name: str) -> float:
    """Sum of one Prometheus-format metric's samples (all label sets)."""
    total = 0.0
    for row in http.get(url).text.splitlines():
        if row.startswith(name) and row[len(name)] in " {":
            total += float(row.rsplit(" ", 1)[1])
    return total


def count_lines(http: httpx.Client, base: str, query: str) -> int:
    samples = logsql.stats(http, base, f"{query} | stats count() as n")
    return int(sum(s.value for s in samples))


@dataclass
class Run:
    """One timed send, sampled every second until what the collector accepted has all gone downstream."""

    name: str
    senders: int
    start: float  # epoch seconds of the first request
    times: list[float] = field(default_factory=list)
    accepted: list[int] = field(default_factory=list)
    downstream: list[float] = field(default_factory=list)  # cumulative count seen past the collector
    send_s: float = 0.0  # first request -> last sender done
    drained_s: float = 0.0  # first request -> downstream count reached the accepted count
    refused: int = 0
    sender_cpu_s: float = 0.0
    collector_cpu_s: float = 0.0
    store_cpu_s: float = 0.0
    load: tuple[float, float] = (0.0, 0.0)  # 1-minute load average at the start and at the end

    @property
    def total(self) -> int:
        return self.accepted[-1] if self.accepted else 0

    @property
    def rate(self) -> float:
        """Lines/s the collector accepted while the senders ran."""
        return self.total / self.send_s if self.send_s else 0.0


def send(
    name: str,
    url: str,
    env: str,
    seconds: float,
    senders: int,
    downstream: Callable[[], float],
    cpu: dict[str, psutil.Process],
) -> Run:
    """Run the senders for `seconds`, then keep sampling until `downstream` caught up (or a deadline)."""
    ctx = mp.get_context("fork")
    shared = Shared.new(ctx)
    start = time.time() + 3.0  # each sender encodes its requests before the clock starts
    stop_at = start + seconds
    procs = [
        ctx.Process(target=sender, args=(url, 1000 * i + len(name), env, start, stop_at, shared))
        for i in range(senders)
    ]
    run = Run(name, senders, start)
    try:
        for proc in procs:
            proc.start()
        time.sleep(max(0.0, start - time.time()))
        before = {k: sum(p.cpu_times()[:2]) for k, p in cpu.items()}
        load0 = os.getloadavg()[0]
        base = downstream()
        tick = start
        while time.time() < stop_at + DRAIN_DEADLINE_S:
            tick += 1.0
            time.sleep(max(0.0, tick - time.time()))
            done = not any(p.is_alive() for p in procs)  # read before the counters: final once all are done
            run.times.append(time.time() - start)
            run.accepted.append(shared.accepted.value)
            run.downstream.append(downstream() - base)
            if done and run.downstream[-1] >= run.accepted[-1]:
                run.drained_s = run.times[-1]
                break
        after = {k: sum(p.cpu_times()[:2]) for k, p in cpu.items()}
        run.load = (load0, os.getloadavg()[0])
    finally:
        for proc in procs:
            proc.join(timeout=90)
            if proc.is_alive():
                proc.kill()
                proc.join()
    run.send_s = shared.ended.value - start
    run.refused = shared.refused.value
    run.sender_cpu_s = shared.cpu_s.value
    run.collector_cpu_s = after["collector"] - before["collector"]
    run.store_cpu_s = after.get("victorialogs", 0.0) - before.get("victorialogs", 0.0)
    return run


def wait_stored(http: httpx.Client, base: str, query: str, want: int, deadline_s: float) -> tuple[int, float]:
    """Poll the store's count of `query` until it reaches `want` or the deadline; (count, when reached)."""
    deadline = time.time() + deadline_s
    found = -1
    while True:
        with contextlib.suppress(logsql.LogsQLError):
            found = count_lines(http, base, query)
        if found >= want or time.time() > deadline:
            return found, time.time()
        time.sleep(0.25)


# ---- the dashboards' LogsQL queries ----


@dataclass
class PanelQuery:
    expr: str
    used_by: list[str]
    first_ms: dict[str, float] = field(default_factory=dict)  # per dataset
    ms: dict[str, list[float]] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)


def panel_queries() -> list[PanelQuery]:
    """Every LogsQL query of the generated dashboards (panels and annotations), variables at "All"."""
    found: dict[str, PanelQuery] = {}
    for dash in render_all().values():
        variables = {v["name"]: v.get("allValue") or ".*" for v in dash.get("templating", {}).get("list", [])}
        used = [(f"{dash['title']} / {q.panel_title}", q.expr) for q in queries(dash) if q.datasource_type == LOGS_TYPE]
        used += [
            (f"{dash['title']} / annotation {a['name']}", a["expr"])
            for a in dash.get("annotations", {}).get("list", [])
            if a.get("datasource", {}).get("type") == LOGS_TYPE
        ]
        for where, raw in used:
            expr = substitute(raw, variables)
            found.setdefault(expr, PanelQuery(expr, [])).used_by.append(where)
    return list(found.values())


@dataclass(frozen=True)
class Dataset:
    label: str
    held: int  # lines in the store
    in_window: int  # of those, in the dashboards' window
    load_s: float = 0.0  # time to load them through /insert/jsonline (0: they came through the collector)


def load(http: httpx.Client, base: str, env: str, want: int) -> float:
    """Insert `want` lines through /insert/jsonline, spread over the dashboards' window; seconds until countable."""
    rng = random.Random(7)
    now = time.time()
    started = time.perf_counter()
    params = {"_stream_fields": STREAM_FIELDS, "_time_field": "_time", "_msg_field": "_msg"}
    for done in range(0, want, 50_000):
        body = jsonl_chunk(rng, env, min(50_000, want - done), now - WINDOW_S + 60, WINDOW_S - 120)
        http.post(f"{base}/insert/jsonline", params=params, content=body, timeout=120).raise_for_status()
    count, _ = wait_stored(http, base, "*", want, DRAIN_DEADLINE_S)
    if count < want:
        raise RuntimeError(f"only {count:,} of {want:,} inserted lines became countable")
    return time.perf_counter() - started


def dataset(http: httpx.Client, base: str, label: str, load_s: float = 0.0) -> Dataset:
    now = str(int(time.time()))
    held = sum(s.value for s in logsql.stats(http, base, "* | stats count() as n", time=now))
    window = sum(s.value for s in logsql.stats(http, base, f"_time:{WINDOW_S}s | stats count() as n", time=now))
    return Dataset(label, int(held), int(window), load_s)


def time_queries(http: httpx.Client, base: str, found: list[PanelQuery], runs: int, label: str) -> None:
    """Each query as Grafana's log panel sends it: /select/logsql/query over the last 30 min, limit maxLines."""
    rng = random.Random(3)
    for round_ in range(runs + 1):
        order = list(found)
        rng.shuffle(order)
        for q in order:
            now = int(time.time())
            data = {"query": q.expr, "start": str(now - WINDOW_S), "end": str(now), "limit": str(PANEL_LIMIT)}
            t0 = time.perf_counter()
            resp = http.post(f"{base}{logsql.QUERY_PATH}", data=data, timeout=60)
            resp.raise_for_status()
            elapsed = (time.perf_counter() - t0) * 1000
            q.rows[label] = resp.text.count("\n")
            if round_ == 0:
                q.first_ms[label] = elapsed
            else:
                q.ms.setdefault(label, []).append(elapsed)


# ---- the run ----


@dataclass
class Result:
    ceiling: Run
    store: Run
    stored: int  # counted in VictoriaLogs with LogsQL after the store run
    stored_s: float  # first request -> that count reached what the collector accepted
    peaks: Peaks
    datasets: list[Dataset]
    found: list[PanelQuery]
    versions: dict[str, str]
    env: str
    bytes_per_line: float


def version_of(proc: psutil.Process, flag: str) -> str:
    out = subprocess.run([proc.exe(), flag], capture_output=True, text=True, timeout=20, check=False)
    return (out.stdout + out.stderr).strip().splitlines()[0]


def run(seconds: float, senders: int, lines: int, runs: int) -> Result:
    env = f"bench-{uuid.uuid4().hex[:8]}"
    versions: dict[str, str] = {}
    found = panel_queries()
    with BenchStack([], prefix="heron-bench-logs-") as stack, Peaks() as peaks:
        http = stack.http
        otlp = f"{stack.config.url('otlp_http')}/v1/logs"
        telemetry = f"{stack.config.url('collector_telemetry')}/metrics"

        # 1. Ceiling: the collector alone, its logs pipeline ending in the debug exporter.
        spec = stack.stack.specs(["collector"])["collector"]
        stack.start(replace(spec, argv=[*spec.argv, f"--config={DEBUG_OVERLAY}"]))
        collector = binary_of(stack, "collector")
        versions["collector"] = version_of(collector, "--version")
        peaks.procs, peaks.phase = {"collector": collector}, "ceiling"
        print(f"ceiling: {senders} senders for {seconds:g} s", flush=True)
        exported = "otelcol_exporter_sent_log_records_total"
        ceiling = send(
            "ceiling", otlp, env, seconds, senders, lambda: metric_sum(http, telemetry, exported), peaks.procs
        )
        print(f"ceiling: {ceiling.rate:,.0f} lines/s accepted", flush=True)
        stack.stack.runner.stop("collector")

        # 2. Store: the stack's own collector config into VictoriaLogs, then a LogsQL count of every line.
        stack.stack.up(["victorialogs", "collector"])
        base = stack.config.url("victorialogs")
        store_proc, collector = binary_of(stack, "victorialogs"), binary_of(stack, "collector")
        versions["victorialogs"] = version_of(store_proc, "-version")
        peaks.procs, peaks.phase = {"collector": collector, "victorialogs": store_proc}, "store"
        print(f"store: {senders} senders for {seconds:g} s", flush=True)
        ingested = "vl_rows_ingested_total"
        store = send(
            "store", otlp, env, seconds, senders, lambda: metric_sum(http, f"{base}/metrics", ingested), peaks.procs
        )
        query = f'{{deployment.environment.name="{env}"}}'
        stored, reached = wait_stored(http, base, query, store.total, DRAIN_DEADLINE_S)
        stored_s = reached - store.start
        print(f"store: {store.total:,} accepted, {stored:,} stored in {stored_s:.1f} s", flush=True)

        # 3. Queries: over what the store run left (all in the last minutes), then over a fresh store holding
        # `lines` lines spread over the dashboards' window.
        peaks.procs, peaks.phase = {"victorialogs": store_proc}, "queries"
        sets = [dataset(http, base, "after the store run")]
        print(f"queries: {len(found)} over {sets[-1].held:,} lines, {runs} runs", flush=True)
        time_queries(http, base, found, runs, sets[-1].label)
        stack.stack.runner.stop("victorialogs")
        shutil.rmtree(stack.config.state_dir / "victorialogs")
        stack.stack.start_service("victorialogs")
        peaks.procs = {"victorialogs": binary_of(stack, "victorialogs")}
        load_s = load(http, base, env, lines)
        sets.append(dataset(http, base, f"{lines / 1e6:g} M lines over {WINDOW_S // 60} min", load_s))
        print(f"queries: {len(found)} over {sets[-1].held:,} lines, {runs} runs", flush=True)
        time_queries(http, base, found, runs, sets[-1].label)
    size = len(otlp_body(random.Random(0), env, RECORDS_PER_REQUEST)) / RECORDS_PER_REQUEST
    return Result(ceiling, store, stored, stored_s, peaks, sets, found, versions, env, size)


# ---- report ----


def stamp(versions: dict[str, str]) -> str:
    """When, which commit, which machine and binaries: every number in the section comes from this one run."""

    def git(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["git", *argv], cwd=ROOT, capture_output=True, text=True, check=False)

    commit = git("rev-parse", "--short", "HEAD").stdout.strip() or "unknown"
    if git("diff", "--quiet", "HEAD", "--", "bench", "heron_stack", "otel-collector.yaml").returncode:
        commit += " with uncommitted changes"
    cpuinfo = Path("/proc/cpuinfo").read_text(encoding="utf-8") if Path("/proc/cpuinfo").exists() else ""
    model = next(iter(re.findall(r"model name\s*:\s*(.+)", cpuinfo)), "unknown CPU")
    ram = psutil.virtual_memory().total / 2**30
    return (
        f"*Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, commit `{commit}`, {os.cpu_count()} CPUs ({model}), "
        f"{ram:.1f} GiB RAM;\ncollector `{versions['collector']}`, VictoriaLogs `{versions['victorialogs']}` "
        "(from the binaries' version flags).*"
    )


def rate_over(run: Run, series: list[float] | list[int], window: int = 3) -> Iterator[tuple[float, float]]:
    """Lines/s over a sliding window of `window` 1 s samples (the store takes lines in bursts)."""
    times, values = [0.0, *run.times], [0.0, *map(float, series)]
    for i in range(1, len(times)):
        j = max(0, i - window)
        yield times[i], (values[i] - values[j]) / (times[i] - times[j])


def plot(result: Result) -> None:
    IMG.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(9, 4.5))
    c, st = result.ceiling, result.store
    for run, series, label, style in (
        (c, c.accepted, "ceiling: accepted by the collector", "C0-"),
        (c, c.downstream, "ceiling: out of the debug exporter", "C0:"),
        (st, st.accepted, "store: accepted by the collector", "C1-"),
        (st, st.downstream, "store: ingested by VictoriaLogs", "C2-"),
    ):
        points = list(rate_over(run, series))
        ax.plot([t for t, _ in points], [v / 1000 for _, v in points], style, label=label)
    ax.axhline(GOAL_LINES_S / 1000, color="red", linestyle="--", linewidth=0.8, label=f"goal {GOAL_LINES_S // 1000}k")
    ax.set_xlabel("s since the first request (senders stop at the end of the send; then the pipeline drains)")
    ax.set_ylabel("thousand lines/s (3 s sliding window)")
    ax.set_ylim(bottom=0)
    ax.set_title("OTLP logs: collector ceiling vs collector -> VictoriaLogs")
    ax.legend(fontsize=8, loc="upper right")
    fig.tight_layout()
    fig.savefig(IMG, dpi=100)
    plt.close(fig)


def _us_per_line(cpu_s: float, lines: int) -> float:
    return cpu_s / lines * 1e6 if lines else float("nan")


def _query_row(q: PanelQuery, sets: list[Dataset]) -> str:
    cells = []
    for d in sets:
        ms = q.ms.get(d.label, [])
        tail = f"{percentile(ms, 95):.1f}" if len(ms) >= 40 else f"max of {len(ms)}: {max(ms, default=math.nan):.1f}"
        first = q.first_ms.get(d.label, math.nan)
        cells.append(f"{q.rows.get(d.label, 0)} | {first:.1f} | {percentile(ms, 50):.1f} | {tail} | {len(ms)}")
    expr = q.expr.replace("|", "\\|")  # a pipe ends a table cell even inside backticks
    return f"| `{expr}` | {'<br>'.join(q.used_by)} | " + " | ".join(cells) + " |"


def _run_row(label: str, run: Run, end_to_end: float) -> str:
    store = f"{_us_per_line(run.store_cpu_s, run.total):.1f}" if run.store_cpu_s else "-"
    return (
        f"| {label} | {run.send_s:.1f} | {run.total:,} | {run.rate:,.0f} | **{end_to_end:,.0f}** | {run.refused:,} "
        f"| {_us_per_line(run.collector_cpu_s, run.total):.1f} | {store} "
        f"| {_us_per_line(run.sender_cpu_s, run.total):.1f} |"
    )


INGEST_HEADER = (
    "| run | send s | lines accepted | accepted lines/s | end-to-end lines/s | refused (retried) "
    "| CPU µs/line: collector | store | sender |\n" + "|---" * 9 + "|"
)


def write_report(result: Result, args: argparse.Namespace) -> None:
    ceiling, store, p = result.ceiling, result.store, result.peaks
    exported = int(ceiling.downstream[-1]) if ceiling.downstream else 0
    ceiling_e2e = ceiling.total / ceiling.drained_s if ceiling.drained_s else math.nan
    store_e2e = result.stored / result.stored_s
    lost = store.total - result.stored
    loss = "zero loss" if lost == 0 else (f"{lost:,} lines missing" if lost > 0 else f"{-lost:,} lines extra")
    verdict = "meets" if store_e2e >= GOAL_LINES_S and lost == 0 else "misses"
    sender_per_cpu = ceiling.total / ceiling.sender_cpu_s if ceiling.sender_cpu_s else math.nan
    collector_per_cpu = ceiling.total / ceiling.collector_cpu_s if ceiling.collector_cpu_s else math.nan
    cpus = os.cpu_count() or 1
    store_us = _us_per_line(store.collector_cpu_s + store.store_cpu_s + store.sender_cpu_s, store.total)
    sets = result.datasets
    stamped = stamp(result.versions)
    header = " | ".join(f"{d.label}: rows | first ms | p50 ms | p95 ms | n" for d in sets)
    rule = "|".join(["---"] * (2 + 5 * len(sets)))
    held = "; ".join(
        f"*{d.label}*: {d.held:,} lines, {d.in_window:,} of them in the window"
        + (
            f", loaded through `/insert/jsonline` in {d.load_s:.1f} s ({d.held / d.load_s:,.0f} lines/s)"
            if d.load_s
            else ", written by the collector during the store run, so all within its last minutes"
        )
        for d in sets
    )
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text(
        f"""## Logs: ingest ceiling, VictoriaLogs throughput, log panel queries

Senders: {ceiling.senders} processes posting pre-encoded OTLP/HTTP protobuf requests of {RECORDS_PER_REQUEST} records
({result.bytes_per_line:.0f} bytes per record on the wire, uncompressed, keep-alive) as fast as the collector
answers; a refused request (memory limiter) is counted and retried after 50 ms. Senders, collector and store share
the machine's CPUs. Records are shaped like Heron's: resource `service.name`, `host.name`,
`deployment.environment.name`; `severity_text`, `trace_id`, `code.function`, and `event.type` on load lab events;
85% app services, 10% alert worker parts, 5% loadgen.

### Ingest: collector ceiling vs collector -> VictoriaLogs

{stamped}

{INGEST_HEADER}
{_run_row("ceiling: logs pipeline -> `debug` (verbosity basic)", ceiling, ceiling_e2e)}
{_run_row("store: stack config -> VictoriaLogs", store, store_e2e)}

- *Ceiling*: Heron's collector binary and `otel-collector.yaml`, started the way `heron up` starts it, plus the
  overlay `--config={DEBUG_OVERLAY}`. The debug exporter passed {exported:,} of the {ceiling.total:,} accepted
  records (`otelcol_exporter_sent_log_records_total`); end to end is accepted lines / (first request -> exporter
  caught up, {ceiling.drained_s:.0f} s). Per CPU-second the collector took {collector_per_cpu:,.0f} lines and the
  senders produced {sender_per_cpu:,.0f}: the senders' own ceiling is about {sender_per_cpu * cpus:,.0f} lines/s on
  these {cpus} CPUs (the collector spends {sender_per_cpu / collector_per_cpu:.1f}x their CPU per line), so they are not
  the limit, though they take a share of the CPUs.
- *Store*: the stack's collector config unchanged (batch, `otlp_http/victorialogs` to `/insert/opentelemetry/v1/logs`,
  sending queue, memory limiter). After the send a LogsQL count (`{{deployment.environment.name="{result.env}"}}
  | stats count()`) was polled until it matched (deadline {DRAIN_DEADLINE_S:g} s): **{result.stored:,} of
  {store.total:,} accepted lines stored, {loss}**, countable {result.stored_s - store.send_s:.1f} s after the senders
  stopped. End to end (first request -> last line countable, {result.stored_s:.0f} s):
  **{store_e2e:,.0f} lines/s**; store / ceiling **{store_e2e / ceiling_e2e:.2f}x** (end to end both). Collector,
  store and senders together spent {store_us:.1f} µs CPU per stored line, which bounds this machine at about
  {cpus * 1e6 / store_us:,.0f} lines/s if the three had the {cpus} CPUs to themselves.
- The machine is shared with other jobs: 1-minute load average {ceiling.load[0]:.1f} -> {ceiling.load[1]:.1f} over the
  ceiling run and {store.load[0]:.1f} -> {store.load[1]:.1f} over the store run (the bench itself accounts for about
  {cpus}). The CPU µs per line above hold under such load; the lines/s move with it from run to run.
- Peak RSS (psutil, every 200 ms): store run: VictoriaLogs {p.mib("store", "victorialogs"):.0f} MiB, collector
  {p.mib("store", "collector"):.0f} MiB; ceiling run: collector {p.mib("ceiling", "collector"):.0f} MiB; queries and
  loading below: VictoriaLogs {p.mib("queries", "victorialogs"):.0f} MiB.

Goal: at least {GOAL_LINES_S:,} lines/s sustained into VictoriaLogs with zero loss; this run **{verdict}** it.

![logs throughput](../img/bench_logs.png)

### Log panel queries

{stamped}

Every LogsQL query of the generated dashboards (`heron_stack.dashboards`, log panels and annotations; `$service` at
its "All" value), sent as Grafana's log panel sends it: `POST /select/logsql/query` over the last
{WINDOW_S // 60} minutes with `limit={PANEL_LIMIT}` (the datasource's maxLines), timed from request to the whole answer
read. Queries ran in shuffled rounds; the first round ("first") is not in the percentiles. Two stores: {held}.

| query | used by | {header} |
|{rule}|
{chr(10).join(_query_row(q, sets) for q in result.found)}

Reproduce: `.venv/bin/python -m bench.bench_logs --seconds {args.seconds:g} --senders {args.senders}
--lines {args.lines} --runs {args.runs}`.
""",
        encoding="utf-8",
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60.0, help="length of each send (default 60)")
    parser.add_argument("--senders", type=int, default=3, help="sender processes (default 3)")
    parser.add_argument("--lines", type=int, default=1_000_000, help="lines in the fresh store for the queries")
    parser.add_argument("--runs", type=int, default=50, help="timed runs per query and store (default 50)")
    args = parser.parse_args(argv)
    result = run(args.seconds, args.senders, args.lines, args.runs)
    plot(result)
    write_report(result, args)
    print(f"wrote {DOC.relative_to(ROOT)} and {IMG.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
