"""Benchmark Heron's alert engine: 1,000 hosts x the default rule pack, and breach-to-job latency.

Run: .venv/bin/python -m bench.bench_alerts [--long]
Starts its own Prometheus (Debian's, scraping a synthetic target of N hosts every second) and its own
redis-server on free ports. Peer: Prometheus' own rule manager evaluating the same rule files in the
same run (prometheus_rule_group_last_duration_seconds).
Writes docs/benchmarks/alerts.md and docs/img/bench_alerts.png.
"""

from __future__ import annotations

import argparse
import random
import shutil
import socket
import statistics
import subprocess
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path

import httpx
import matplotlib
import redis
import yaml

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from alert_worker.engine import Engine, evaluate_group
from alert_worker.notify.routing import load_routing, parse_routing
from alert_worker.rules.evaluator import EvalSettings
from alert_worker.rules.loader import load_rule_files, parse_rules
from alert_worker.sources.prometheus import PrometheusSource
from alert_worker.state.redis_store import RedisStore
from bench._report import pct, peer_versions, stamp
from tests.fixtures.alerting import MetricsTarget

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "benchmarks" / "alerts.md"
IMG = ROOT / "docs" / "img" / "bench_alerts.png"
PACK = sorted((ROOT / "prometheus" / "rules").glob("*.rules.yml"))
# The app rules read the RED recording rules' series: Prometheus records them, as in the stack.
RECORDING = sorted((ROOT / "prometheus" / "recording").glob("*.yml"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Fleet:
    """A scrape target with the agent's metric names for `hosts` hosts; `breach` flips one host's CPU."""

    def __init__(self, hosts: int, services: int = 50) -> None:
        self.hosts, self.services = hosts, services
        self.hot: set[int] = {i for i in range(hosts) if i % 20 == 0}  # 5% of hosts breach CPU
        self.flag = 0.0
        self.started = time.time()
        self.target = MetricsTarget(self.render)
        self.port = self.target.port

    def render(self) -> str:
        lines = [f"heron_bench_breach {self.flag}"]
        elapsed = time.time() - self.started
        for i in range(self.hosts):
            h = f'host_name="bench-{i:04d}"'
            idle = 0.02 if i in self.hot else 0.6
            lines += [
                f'system_cpu_utilization_ratio{{{h},cpu_mode="idle",cpu_logical_number="0"}} {idle}',
                f'system_cpu_utilization_ratio{{{h},cpu_mode="user",cpu_logical_number="0"}} {1 - idle}',
                f'system_memory_utilization_ratio{{{h},system_memory_state="used"}} {0.98 if i in self.hot else 0.5}',
                f'system_paging_utilization_ratio{{{h},system_paging_state="used"}} 0.1',
                f'system_filesystem_utilization_ratio{{{h},system_device="sda1",system_filesystem_mountpoint="/",'
                f'system_filesystem_state="used"}} 0.4',
                f'system_filesystem_usage_bytes{{{h},system_device="sda1",system_filesystem_mountpoint="/",'
                f'system_filesystem_state="free"}} {6e10 - elapsed * 1000}',
                f'system_network_errors_total{{{h},network_interface_name="eth0",network_io_direction="receive"}} 0',
                f"system_cpu_load_average_1m{{{h}}} 0.5",
                f"system_cpu_logical_count{{{h}}} 4",
            ]
        for s in range(self.services):
            svc = f'service_name="svc-{s:02d}",http_route="/"'
            count = int(elapsed * 10)
            lines.append(f'http_server_request_duration_seconds_count{{{svc},http_response_status_code="200"}} {count}')
            for le in ("0.1", "0.5", "+Inf"):
                lines.append(f'http_server_request_duration_seconds_bucket{{{svc},le="{le}"}} {count}')
        return "\n".join(lines) + "\n"


def _prometheus(
    workdir: Path, target: int, rule_files: list[Path], interval: str
) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": interval},
        "rule_files": [str(p) for p in rule_files],
        "scrape_configs": [
            {"job_name": "fleet", "static_configs": [{"targets": [f"127.0.0.1:{target}"]}]},
            {"job_name": "self", "scrape_interval": "2s", "static_configs": [{"targets": [f"127.0.0.1:{port}"]}]},
        ],
    }
    (workdir / "prometheus.yml").write_text(yaml.safe_dump(config))
    proc = subprocess.Popen(
        [
            shutil.which("prometheus") or "prometheus",
            f"--config.file={workdir / 'prometheus.yml'}",
            f"--storage.tsdb.path={workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    _until(lambda: httpx.get(f"{url}/-/ready", timeout=2).status_code == 200, 60)
    return proc, url


def _redis(workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    proc = subprocess.Popen(
        ["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--dir", str(workdir), "--save", ""],
        stdout=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    _until(lambda: redis.Redis.from_url(url).ping(), 30)
    return proc, url


def _until(check, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if check():
                return
        except (OSError, httpx.HTTPError, redis.RedisError):
            pass
        if time.monotonic() > deadline:
            raise TimeoutError("service did not become ready")
        time.sleep(0.2)


def _prom_rule_seconds(url: str) -> float:
    """Prometheus' own time for one evaluation of all groups, averaged over the last 12 s (all with full data)."""
    # Alert groups only (rule_group is "<file>;<group>"): the recording groups feed both engines alike.
    groups = 'rule_group=~".*[.]rules[.]yml;heron-.*"'
    query = f"sum(avg_over_time(prometheus_rule_group_last_duration_seconds{{{groups}}}[12s]))"
    result = httpx.get(f"{url}/api/v1/query", params={"query": query}, timeout=10).json()["data"]["result"]
    return float(result[0]["value"][1]) if result else float("nan")


def cycle_cost(hosts: int, cycles: int, workdir: Path) -> dict[str, float]:
    """Engine CPU and queries per cycle for the default pack over `hosts` hosts, and Prometheus' own time."""
    fleet = Fleet(hosts)
    prom, prom_url = _prometheus(workdir / f"p{hosts}", fleet.port, [*PACK, *RECORDING], "5s")
    rds, redis_url = _redis(workdir)
    try:
        _until(
            lambda: (
                len(
                    httpx.get(f"{prom_url}/api/v1/query", params={"query": "system_cpu_logical_count"}).json()["data"][
                        "result"
                    ]
                )
                == hosts
            ),
            60,
        )
        time.sleep(12)  # let Prometheus run its own rule evaluation at least once
        groups = load_rule_files(PACK)
        source = PrometheusSource(prom_url, timeout=60)
        store = RedisStore.from_url(redis_url)
        jobs: list[object] = []
        engine = Engine(
            source, store, load_routing(ROOT / "prometheus" / "rules" / "heron.routing.yaml"), enqueue=jobs.append
        )
        cpu, wall, queries, firing = [], [], [], 0
        base = time.time()
        for c in range(cycles):
            before_q, t0, c0 = source.queries, time.perf_counter(), time.process_time()
            # Simulated minutes (still inside Prometheus' 5m lookback) let `for` timers run out, so
            # cycles include firing alerts, grouping and jobs; a 50 s interval makes each a new slot.
            at = base + 55.0 * c
            for group in groups:
                out = evaluate_group(engine, replace(group, interval_s=50.0), at)
                firing = out.alerts_by_state.get("firing", 0) if group.name == "heron-hosts" else firing
            cpu.append(time.process_time() - c0)
            wall.append(time.perf_counter() - t0)
            queries.append(source.queries - before_q)
        _until(lambda: _prom_rule_seconds(prom_url) > 0, 30)
        peer = _prom_rule_seconds(prom_url)
        source.close()
        return {
            "hosts": hosts,
            "groups": len(groups),
            "rules": sum(len(g.rules) for g in groups),
            "queries": statistics.median(queries),
            "cpu_ms": statistics.median(cpu) * 1000,
            "wall_ms": statistics.median(wall) * 1000,
            "peer_ms": peer * 1000,
            "firing": firing,
            "jobs": len(jobs),
        }
    finally:
        prom.terminate()
        rds.terminate()
        prom.wait()
        rds.wait()
        fleet.target.close()


BREACH_RULES = """
groups:
  - name: breach
    interval: 5s
    rules:
      - alert: BenchBreach
        expr: heron_bench_breach > 0
        annotations:
          heron_no_data: resolve
"""


def breach_latency(trials: int, workdir: Path) -> tuple[list[float], float]:
    """Seconds from a breach (the target's value flips) to the job being enqueued, `for: 0`, 5 s interval."""
    fleet = Fleet(10, services=0)
    rule_file = workdir / "breach.rules.yml"
    rule_file.write_text(BREACH_RULES)
    prom, prom_url = _prometheus(workdir / "breach", fleet.port, [], "5s")
    rds, redis_url = _redis(workdir)
    (group,) = parse_rules(BREACH_RULES, "breach.rules.yml")
    routing = parse_routing("route:\n  group_wait: 0s\n  group_interval: 0s\n  cooldown: 0s\n", "r.yaml")
    enqueued: list[float] = []
    source = PrometheusSource(prom_url)
    # The breach flips on purpose, so flap holding is switched off for this measurement.
    settings = EvalSettings(flap_threshold=10**6)
    engine = Engine(
        source, RedisStore.from_url(redis_url), routing, settings, enqueue=lambda job: enqueued.append(time.time())
    )
    stop = threading.Event()

    def loop() -> None:  # what beat + a worker do: one evaluation at the start of every slot
        while not stop.is_set():
            stop.wait(group.interval_s - time.time() % group.interval_s + 0.01)
            evaluate_group(engine, group, time.time())

    latencies: list[float] = []
    try:
        _until(
            lambda: httpx.get(f"{prom_url}/api/v1/query", params={"query": "heron_bench_breach"}).json()["data"][
                "result"
            ],
            30,
        )
        threading.Thread(target=loop, daemon=True).start()
        rng = random.Random(7)
        for _ in range(trials):
            time.sleep(rng.uniform(1, 5))
            seen, start = len(enqueued), time.time()
            fleet.flag = 1.0
            _until(lambda n=seen: len(enqueued) > n, 30)
            latencies.append(enqueued[seen] - start)
            fleet.flag = 0.0
            seen = len(enqueued)
            _until(lambda n=seen: len(enqueued) > n, 30)  # the resolve
        return latencies, group.interval_s
    finally:
        stop.set()
        source.close()
        prom.terminate()
        rds.terminate()
        prom.wait()
        rds.wait()
        fleet.target.close()


def write_report(
    costs: list[dict[str, float]], latencies: list[float], interval: float, cycles: int, args: argparse.Namespace
) -> None:
    DOC.parent.mkdir(parents=True, exist_ok=True)
    IMG.parent.mkdir(parents=True, exist_ok=True)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    xs = [c["hosts"] for c in costs]
    ax1.plot(xs, [c["cpu_ms"] for c in costs], "o-", label="Heron engine CPU / cycle")
    ax1.plot(xs, [c["peer_ms"] for c in costs], "s--", label="Prometheus rule manager / cycle")
    ax1.set_xlabel("hosts")
    ax1.set_ylabel("ms per evaluation cycle")
    ax1.legend()
    ax1.set_title("Default rule pack")
    ax2.hist(latencies, bins=12)
    ax2.axvline(interval + 1, color="red", linestyle="--", label="interval + 1 s")
    ax2.set_xlabel("breach -> job enqueued (s)")
    ax2.set_ylabel("breaches")
    ax2.legend()
    ax2.set_title(f"for: 0, interval {interval:g}s")
    fig.tight_layout()
    fig.savefig(IMG, dpi=100)
    p50, p95 = pct(latencies, 50), pct(latencies, 95)
    versions = peer_versions("prometheus", "redis")
    rows = "\n".join(
        f"| {c['hosts']:.0f} | {c['rules']:.0f} | {c['queries']:.0f} | {c['cpu_ms']:.1f} | {c['wall_ms']:.1f} "
        f"| {c['peer_ms']:.1f} | {c['wall_ms'] / c['peer_ms'] if c['peer_ms'] else float('nan'):.1f}x "
        f"| {c['firing']:.0f} |"
        for c in costs
    )
    rules = sorted({int(c["rules"]) for c in costs})
    groups = sorted({int(c["groups"]) for c in costs})
    queries = sorted({int(c["queries"]) for c in costs})
    counts = f"{' / '.join(map(str, rules))} rules in {' / '.join(map(str, groups))} groups"
    if queries == rules:
        query_text = (
            f"Every cycle made {queries[0]} queries for {rules[0]} rules: one instant query per rule, not per host;"
        )
    else:
        query_text = (
            f"Cycles made {' / '.join(map(str, queries))} queries (median) for {' / '.join(map(str, rules))} rules;"
        )
    DOC.write_text(
        f"""## Alert engine

{stamp()}

One evaluation cycle = every group of the default rule pack (`prometheus/rules/*.rules.yml`, as loaded by this
run: {counts}) evaluated once against Debian's Prometheus {versions["prometheus"]} holding N synthetic hosts
(agent metric names; 5% of hosts over the CPU and memory thresholds), state in redis-server
{versions["redis"]}. Each cycle moves the engine's clock 55 s ahead so `for` timers run out; since the data
stops at real time, HostStoppedReporting fires for every host in the later cycles, so the cycles include
about N firing alerts, inhibition, grouping and jobs ("firing" column). Median of {cycles} cycles per N.
Peer: Prometheus' own rule manager evaluating the same files in the same run
(`prometheus_rule_group_last_duration_seconds`).

| hosts | rules | queries / cycle | engine CPU ms / cycle | engine wall ms / cycle \
| Prometheus rule eval ms | wall vs Prometheus | firing |
|---|---|---|---|---|---|---|---|
{rows}

{query_text} presence checks for vanished firing series come on top only when a series disappears. Engine wall
time includes the Prometheus query time, JSON state load/save in Redis and the notification pipeline.

Breach to job enqueued (`for: 0`, evaluation interval {interval:g} s, Prometheus scrape 1 s, {len(latencies)} breaches):
median **{p50.format(unit=" s")}**, tail **{p95.format(unit=" s")}**, max {max(latencies):.2f} s
(target: interval + 1 s = {interval + 1:g} s). A p95 is only named with at least 40 breaches.

![alert engine benchmark](../img/bench_alerts.png)

Shared machine: other jobs ran while this was measured, so expect noise.
Reproduce: `.venv/bin/python -m bench.bench_alerts{" --long" if args.long else ""}`.
"""
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--long", action="store_true", help="more hosts, cycles and breaches")
    args = parser.parse_args(argv)
    host_counts = [100, 1000, 3000] if args.long else [100, 1000]
    cycles = 6
    trials = 60 if args.long else 40  # at least 40, so the tail is a real p95
    with tempfile.TemporaryDirectory(prefix="heron-bench-alerts-") as tmp:
        workdir = Path(tmp)
        costs = [cycle_cost(n, cycles, workdir) for n in host_counts]
        for c in costs:
            print(c)
        latencies, interval = breach_latency(trials, workdir)
        print("latencies", [round(x, 2) for x in latencies])
    write_report(costs, latencies, interval, cycles, args)
    print(f"wrote {DOC.relative_to(ROOT)} and {IMG.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
