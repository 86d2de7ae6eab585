"""Benchmark the stack at fleet scale: the largest N simulated hosts one machine takes at 10 s with no point lost.

Run: .venv/bin/python -m bench.bench_fleet [--long]
For each N, starts a fresh collector + Prometheus + Redis through heron_stack (the same code as `heron up`)
on free ports, runs `heron simulate`'s fleet in-process for a few 10 s intervals, then compares the points
the simulator had accepted with the samples stored in Prometheus, reads the collector's own counters
(refused / failed points), samples collector and Prometheus CPU and RSS, and evaluates the default rule
pack over the fleet with Heron's alert engine. Peer: Prometheus' own rule manager evaluating the same
rule files in the same run (its /api/v1/rules evaluationTime).
Default run (about 4 minutes): 1,000, 1,500 and 2,000 hosts with the collector's default config (400 MiB
memory limit); --long tries 250 to 2,000 hosts by default and 1,500 to 3,000 hosts with 1,500 MiB.
Writes docs/benchmarks/fleet.md and docs/img/bench_fleet.png.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import platform
import signal
import socket
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import matplotlib
import psutil
import yaml

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from alert_worker.engine import Engine, evaluate_group
from alert_worker.notify.routing import load_routing
from alert_worker.rules.loader import load_rule_files
from alert_worker.sources.prometheus import PrometheusSource
from alert_worker.state.redis_store import RedisStore
from bench._report import peer_versions, stamp
from bench._stack import FLEET_COLLECTOR_MEMORY_MIB, collector_memory, service_pid
from heron_stack import config as stack_config
from heron_stack import environment_variables as ev
from heron_stack.simulate.command import exporter_factory
from heron_stack.simulate.config import SimulateConfig
from heron_stack.simulate.fleet import Fleet, plan_batches
from heron_stack.simulate.profiles import make_profiles
from heron_stack.simulate.runner import Simulator
from heron_stack.stack import Stack

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "benchmarks" / "fleet.md"
IMG = ROOT / "docs" / "img" / "bench_fleet.png"
PACK = sorted((ROOT / "prometheus" / "rules").glob("*.rules.yml"))
COLLECTOR_COUNTERS = (
    "otelcol_receiver_accepted_metric_points_total",
    "otelcol_receiver_refused_metric_points_total",
    "otelcol_exporter_sent_metric_points_total",
    "otelcol_exporter_send_failed_metric_points_total",
    "otelcol_exporter_enqueue_failed_metric_points_total",
)


def _free_ports(names: list[str]) -> dict[str, int]:
    ports: dict[str, int] = {}
    while len(ports) < len(names):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if port not in ports.values():
            ports[names[len(ports)]] = port
    return ports


def start_stack(state_dir: Path) -> Stack:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HERON_", "OTEL_"))}
    cfg = stack_config.resolve(env, state_dir=state_dir, ports=_free_ports(list(ev.PORT_VARIABLES)))
    stack = Stack(cfg, progress=lambda line: print(line, flush=True))
    try:
        stack.up(["redis", "prometheus", "collector"])
        load_pack_into_prometheus(stack)
    except BaseException:
        stack.down()
        raise
    return stack


def load_pack_into_prometheus(stack: Stack, timeout: float = 30.0) -> None:
    """Give the peer the alert pack: the stack's Prometheus evaluates only the recording rules (Heron's
    engine evaluates the alert rules), so add the pack's files to its rendered config and reload it."""
    path = stack.config.state_dir / "prometheus" / "prometheus.yml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["rule_files"] = [*data.get("rule_files", []), *(str(p) for p in PACK)]
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    pid = stack.runner.state("prometheus").pid
    assert pid is not None, "prometheus is not running"
    os.kill(service_pid(pid), signal.SIGHUP)
    files = {p.name for p in PACK}
    deadline = time.monotonic() + timeout
    url = f"{stack.config.url('prometheus')}/api/v1/rules"
    while {Path(g["file"]).name for g in httpx.get(url, timeout=10).json()["data"]["groups"]} < files:
        if time.monotonic() > deadline:
            raise RuntimeError(f"Prometheus did not load {sorted(files)} within {timeout:.0f}s: see its log")
        time.sleep(0.5)


def _query(url: str, expr: str, at: float | None = None) -> list[dict[str, Any]]:
    params = {"query": expr} if at is None else {"query": expr, "time": f"{at:.3f}"}
    resp = httpx.get(f"{url}/api/v1/query", params=params, timeout=60)
    resp.raise_for_status()
    result: list[dict[str, Any]] = resp.json()["data"]["result"]
    return result


def stored_samples(url: str, prefix: str, window_s: int, at: float) -> int:
    """Samples Prometheus holds for the fleet, counted per metric name (count_over_time cannot mix names)."""
    selector = f'host_name=~"{prefix}.+"'
    query = f'count by (__name__) ({{{selector}, __name__=~"system_.+|otel_agent_.+"}})'
    total = 0
    for name in (s["metric"]["__name__"] for s in _query(url, query, at)):
        result = _query(url, f"sum(count_over_time({name}{{{selector}}}[{window_s}s]))", at)
        total += int(float(result[0]["value"][1])) if result else 0
    return total


def wait_stored(url: str, prefix: str, start: float, end: float, sent: int, timeout: float = 120.0) -> int:
    """Samples stamped between `start` and `end`, once every point arrived or the count stopped growing."""
    deadline = time.monotonic() + timeout
    history: list[int] = []
    while True:
        history.append(stored_samples(url, prefix, int(end - start) + 2, end + 1))
        print(f"  stored {history[-1]} of {sent}", flush=True)
        steady = len(history) >= 6 and len(set(history[-6:])) == 1
        if history[-1] >= sent or steady or time.monotonic() > deadline:
            return history[-1]
        time.sleep(3)


def collector_counters(telemetry_url: str) -> dict[str, Any]:
    text = httpx.get(f"{telemetry_url}/metrics", timeout=10).text
    out = dict.fromkeys(COLLECTOR_COUNTERS, 0.0)
    for line in text.splitlines():
        name = line.split("{", 1)[0].split(" ", 1)[0]
        if name in out:
            out[name] += float(line.rsplit(" ", 1)[1])
    return out


class Sampler:
    """CPU seconds and peak RSS of the collector and Prometheus while the fleet runs."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.procs = {name: psutil.Process(service_pid(pid)) for name, pid in pids.items()}
        self.cpu0 = {name: sum(p.cpu_times()[:2]) for name, p in self.procs.items()}
        self.rss = dict.fromkeys(pids, 0)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.t0 = time.monotonic()
        self.thread.start()

    def _loop(self) -> None:
        while not self.stop.wait(1.0):
            for name, p in self.procs.items():
                self.rss[name] = max(self.rss[name], p.memory_info().rss)

    def finish(self) -> dict[str, Any]:
        self.stop.set()
        self.thread.join()
        wall = time.monotonic() - self.t0
        out: dict[str, Any] = {}
        for name, p in self.procs.items():
            out[f"{name}_cpu"] = (sum(p.cpu_times()[:2]) - self.cpu0[name]) / wall
            out[f"{name}_rss_mib"] = self.rss[name] / 2**20
        return out


def heron_eval(prom_url: str, redis_url: str, cycles: int, start_at: float) -> dict[str, Any]:
    """Wall and CPU ms of one evaluation of every group of the default pack with Heron's engine, the slowest of
    `cycles` (too few for a median)."""
    time.sleep(max(start_at - time.time(), 0.0))
    groups = load_rule_files(PACK)
    source = PrometheusSource(prom_url, timeout=60)
    jobs: list[object] = []
    engine = Engine(
        source, RedisStore.from_url(redis_url), load_routing(ROOT / "prometheus" / "rules" / "heron.routing.yaml"),
        enqueue=jobs.append,
    )  # fmt: skip
    wall, cpu = [], []
    for _ in range(cycles):
        t0, c0 = time.perf_counter(), time.process_time()
        now = time.time()
        for group in groups:
            # Each cycle is a new slot of every group (the engine evaluates a slot once).
            evaluate_group(engine, replace(group, interval_s=1.0), now)
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
        time.sleep(1.0)
    source.close()
    return {
        "wall_ms": max(wall) * 1000,
        "cpu_ms": max(cpu) * 1000,
        "rules": sum(len(g.rules) for g in groups),
    }


def prometheus_eval(prom_url: str, after: float, timeout: float = 45.0) -> tuple[float, str, float]:
    """Prometheus' own ms for one evaluation of every group of the pack's files, the groups Heron's engine
    evaluates (once each ran on the fleet's data), and its slowest rule with that rule's ms. The recording
    groups (prometheus/recording/) feed both alike and are not counted."""
    files = {p.name for p in PACK}
    deadline = time.monotonic() + timeout
    while True:
        groups = httpx.get(f"{prom_url}/api/v1/rules", timeout=10).json()["data"]["groups"]
        heron = [g for g in groups if Path(str(g.get("file", ""))).name in files]
        fresh = all(
            g.get("lastEvaluation", "")[:19] >= time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(after)) for g in heron
        )
        if (heron and fresh) or time.monotonic() > deadline:
            rules = [(float(r.get("evaluationTime", 0.0)), r["name"]) for g in heron for r in g["rules"]]
            slowest = max(rules, default=(0.0, "-"))
            return sum(float(g.get("evaluationTime", 0.0)) for g in heron) * 1000, slowest[1], slowest[0] * 1000
        time.sleep(1.0)


DEFAULT_MEMORY_MIB = 400
"""The collector's memory_limiter limit in otel-collector.yaml (HERON_COLLECTOR_MEMORY_LIMIT_MIB)."""


def run_step(hosts: int, interval: float, cycles: int, workdir: Path, memory_mib: int | None = None) -> dict[str, Any]:
    with collector_memory(memory_mib):
        stack = start_stack(workdir / f"n{hosts}-{memory_mib or DEFAULT_MEMORY_MIB}")
    cfg = stack.config
    prom_url = cfg.url("prometheus")
    try:
        prefix = f"fleet{hosts}-"
        sim_cfg = SimulateConfig(hosts=hosts, interval=interval, endpoint=cfg.url("otlp_http") + "/v1/metrics")
        fleet = Fleet(make_profiles(hosts, prefix, seed=1), version="bench")
        sim = Simulator(fleet, plan_batches(hosts, sim_cfg.batch_hosts), interval, exporter_factory(sim_cfg), senders=4)
        before = collector_counters(cfg.url("collector_telemetry"))
        pids = {name: stack.runner.state(name).pid for name in ("collector", "prometheus")}
        sampler = Sampler({k: v for k, v in pids.items() if v is not None})
        started, c0 = time.time(), time.process_time()
        # The alert engine evaluates while the fleet reports, in its own process as the worker runs in production.
        with multiprocessing.get_context("spawn").Pool(1) as pool:
            pending = pool.apply_async(
                heron_eval, (prom_url, f"redis://{cfg.addr('redis')}/0", 3, started + 1.5 * interval)
            )
            reports = sim.run(cycles)
            evaluation = pending.get(timeout=300)
        sim_cpu = (time.process_time() - c0) / (time.time() - started)
        usage = sampler.finish()
        sent = sum(r.points for r in reports)
        failed = sum(r.failed_points for r in reports)
        stored = wait_stored(prom_url, prefix, started - 1, time.time(), sent)
        after = collector_counters(cfg.url("collector_telemetry"))
        delta = {k: after[k] - before[k] for k in COLLECTOR_COUNTERS}
        wall_ms, cpu_ms, rules = evaluation["wall_ms"], evaluation["cpu_ms"], evaluation["rules"]
        peer_ms, slowest, slowest_ms = prometheus_eval(prom_url, started + interval)
        row = {
            "hosts": hosts,
            "memory_mib": memory_mib or DEFAULT_MEMORY_MIB,
            "interval": interval,
            "sent": sent,
            "failed": failed,
            "stored": stored,
            "dropped": sent + failed - stored,
            "refused": delta["otelcol_receiver_refused_metric_points_total"],
            "send_failed": delta["otelcol_exporter_send_failed_metric_points_total"]
            + delta["otelcol_exporter_enqueue_failed_metric_points_total"],
            "behind": sum(not r.kept_up for r in reports),
            "max_lag": max(r.lag for r in reports),
            "max_finished": max(r.finished for r in reports),
            "sim_cpu": sim_cpu,
            "points_per_s": sent / (interval * cycles),
            "rules": rules,
            "heron_wall_ms": wall_ms,
            "heron_cpu_ms": cpu_ms,
            "peer_ms": peer_ms,
            "slowest_rule": f"{slowest} ({slowest_ms:.0f} ms)",
            **usage,
        }
        print(row, flush=True)
        return row
    finally:
        stack.down()


def _kept_up(r: dict[str, Any]) -> str:
    state = "yes" if r["behind"] == 0 else f"no, {r['behind']:.0f} late"
    return f"{state} (lag {r['max_lag']:.2f} s, last answer {r['max_finished']:.1f} s)"


def sustained(row: dict[str, Any]) -> bool:
    """No point lost or refused, and every interval delivered within 1.5 intervals (the rate held)."""
    lossless = row["dropped"] == 0 and row["refused"] == 0 and row["send_failed"] == 0
    return bool(lossless and row["max_finished"] <= 1.5 * row["interval"])


def _headline(rows: list[dict[str, Any]], memory_mib: float) -> str:
    tried = [r for r in rows if r["memory_mib"] == memory_mib]
    ok = [r for r in tried if sustained(r)]
    where = f"collector memory limit {memory_mib:.0f} MiB" + (" (default)" if memory_mib == DEFAULT_MEMORY_MIB else "")
    if not ok:
        sizes = ", ".join(str(int(r["hosts"])) for r in tried)
        return f"{where}: none of {sizes} hosts sustained without loss"
    best = max(ok, key=lambda r: r["hosts"])
    more = " (the largest N tried here)" if best["hosts"] == max(r["hosts"] for r in tried) else ""
    ratio = best["heron_wall_ms"] / best["peer_ms"] if best["peer_ms"] else float("nan")
    return (
        f"{where}: **{best['hosts']:.0f} hosts** at 10 s{more}, {best['points_per_s']:.0f} points/s, 0 points lost; "
        f"Heron's engine evaluates the default pack ({best['rules']:.0f} rules) in {best['heron_wall_ms']:.0f} ms "
        f"wall / {best['heron_cpu_ms']:.0f} ms CPU per cycle, Prometheus' own rule manager in "
        f"{best['peer_ms']:.0f} ms ({ratio:.1f}x; its slowest rule: {best['slowest_rule']})"
    )


def write_report(rows: list[dict[str, Any]], cycles: int, args: argparse.Namespace) -> None:
    DOC.parent.mkdir(parents=True, exist_ok=True)
    IMG.parent.mkdir(parents=True, exist_ok=True)
    fig, (ax1, ax2, ax3) = plt.subplots(1, 3, figsize=(15, 4.2))
    for memory_mib in sorted({r["memory_mib"] for r in rows}):
        sub = [r for r in rows if r["memory_mib"] == memory_mib]
        xs, tag = [r["hosts"] for r in sub], f"limit {memory_mib:.0f} MiB"
        ax1.plot(xs, [r["dropped"] + r["refused"] + r["send_failed"] for r in sub], "o-", label=tag)
        ax2.plot(xs, [100 * r["collector_cpu"] for r in sub], "o-", label=f"collector, {tag}")
        ax2.plot(xs, [100 * r["prometheus_cpu"] for r in sub], "s-", label=f"Prometheus, {tag}")
        ax2.plot(xs, [100 * r["sim_cpu"] for r in sub], "^--", label=f"simulator, {tag}")
        ax3.plot(xs, [r["heron_wall_ms"] for r in sub], "o-", label=f"Heron engine (wall), {tag}")
        ax3.plot(xs, [r["peer_ms"] for r in sub], "s--", label=f"Prometheus rules, {tag}")
    ax1.set_title("points lost or refused (simulator → Prometheus)")
    ax2.set_title("CPU (% of one core)")
    ax3.set_title("default rule pack, ms per evaluation")
    for ax in (ax1, ax2, ax3):
        ax.set_xlabel("hosts at 10 s")
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(IMG, dpi=100)
    headlines = "\n".join(f"- {_headline(rows, m)}." for m in sorted({r["memory_mib"] for r in rows}))
    rows_md = "\n".join(
        f"| {r['hosts']:.0f} | {r['memory_mib']:.0f} | {r['points_per_s']:.0f} | {r['sent']:.0f} | {r['stored']:.0f} "
        f"| {r['sent'] - r['stored']:.0f} / {r['refused']:.0f} / {r['send_failed']:.0f} / {r['failed']:.0f} "
        f"| {_kept_up(r)} "
        f"| {100 * r['sim_cpu']:.0f} % | {100 * r['collector_cpu']:.0f} % / {r['collector_rss_mib']:.0f} MiB "
        f"| {100 * r['prometheus_cpu']:.0f} % / {r['prometheus_rss_mib']:.0f} MiB "
        f"| {r['heron_wall_ms']:.0f} / {r['heron_cpu_ms']:.0f} | {r['peer_ms']:.0f} "
        f"| {r['heron_wall_ms'] / r['peer_ms'] if r['peer_ms'] else float('nan'):.1f}x |"
        for r in rows
    )
    versions = peer_versions("collector", "prometheus", "redis")
    DOC.write_text(
        f"""## Fleet: how many hosts one machine takes

{stamp()}

`heron simulate` sends N synthetic hosts through the agent's own pipeline, encoder and OTLP/HTTP exporter
(about 190 points per host: per-core CPU, memory, paging, disks, filesystems, NICs, connections,
processes, agent self-metrics), 50 hosts per request, the requests spread over each 10 s interval. Each N
runs {cycles} intervals against a fresh collector {versions["collector"]} + Prometheus {versions["prometheus"]}
(+ redis-server {versions["redis"]} for the alert engine) started by
`heron_stack`, all on this one machine together with the simulator.

Largest fleet sustained (no point lost or refused by the collector, and every interval's points delivered
within 1.5 intervals, so the nominal rate held):

{headlines}

| hosts | collector memory limit MiB | points/s | points accepted | samples stored \
| lost: missing / collector refused / collector send failed / simulator failed \
| simulator on schedule (max lag) | simulator CPU | collector CPU / peak RSS | Prometheus CPU / peak RSS \
| Heron rule eval ms (wall / CPU) | Prometheus rule eval ms | Heron vs Prometheus |
|---|---|---|---|---|---|---|---|---|---|---|---|---|
{rows_md}

"On schedule": every request started within one slot (interval / requests) of its time and the last
answer of each interval came within one slot after it; "lag" is the latest start, "last answer" the
latest answer, in seconds from the interval's start. "Missing" = points the collector accepted from the
simulator minus samples Prometheus stores for those hosts (counted per metric name with
`count_over_time`); collector counters are
`otelcol_receiver_refused_metric_points_total` and `otelcol_exporter_send_failed_metric_points_total`
(+ enqueue failures) from its telemetry endpoint. CPU is a share of one core over the run. Rule evaluation:
every group of `prometheus/rules/*.rules.yml` once, with Heron's engine (`evaluate_group`, queries over
HTTP, state in Redis) in its own process, the slowest of 3 cycles run while the fleet reports (from the middle
of the second interval on, as the worker does in production); the peer is Prometheus' own rule manager evaluating the
same files in the same run, also under the ingest load (sum of `evaluationTime` of those files' groups in
`/api/v1/rules`, the value behind `prometheus_rule_group_last_duration_seconds`). Heron's wall time includes
the HTTP round trips and JSON decoding of every result; its cost grows with the rules' result size, which
for the host pack is one series per host.

![fleet benchmark](../img/bench_fleet.png)

The collector's memory limit is `memory_limiter.limit_mib` in `otel-collector.yaml`
(`HERON_COLLECTOR_MEMORY_LIMIT_MIB`, spike limit a quarter of it via `HERON_COLLECTOR_MEMORY_SPIKE_MIB`);
above its soft limit the collector refuses data with 503; the sender (the agent's exporter) retries, and
what still fails after its 10 s timeout is counted as "simulator failed", the points lost for good.

Python {platform.python_version()}; the machine was shared with other work while measured (load average above the core
count), so expect noise. The simulator, the collector and Prometheus share the same 2 cores; on a real
deployment the senders are elsewhere.
Reproduce: `.venv/bin/python -m bench.bench_fleet{" --long" if args.long else ""}`.
"""
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--long", action="store_true", help="more sizes (up to 3,000 hosts), 6 intervals each")
    parser.add_argument("--hosts", type=int, nargs="+", help="fleet sizes to try with the default collector config")
    parser.add_argument("--collector-memory-mib", type=int, help="with --hosts: the collector's memory limit")
    args = parser.parse_args(argv)
    if args.hosts:
        plan = [(n, args.collector_memory_mib) for n in args.hosts]
    elif args.long:
        plan = [(n, None) for n in (250, 500, 750, 1000, 1500, 2000)] + [
            (n, FLEET_COLLECTOR_MEMORY_MIB) for n in (1500, 2000, 3000)
        ]
    else:
        plan = [(1000, None), (1500, None), (2000, None)]
    cycles = 6 if args.long else 3
    rows = []
    with tempfile.TemporaryDirectory(prefix="heron-bench-fleet-") as tmp:
        for n, memory_mib in plan:
            rows.append(run_step(n, 10.0, cycles, Path(tmp), memory_mib))
    write_report(rows, cycles, args)
    print(f"wrote {DOC.relative_to(ROOT)} and {IMG.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
