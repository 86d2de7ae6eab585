"""Measure the unit cost of each cluster tier and project how many nodes 1k, 10k and 100k hosts need.

Run: .venv/bin/python -m bench.bench_capacity [--steps 500 500 1000]
Starts the cluster topology (`heron up --topology cluster`'s code, tests/fixtures/cluster.start_cluster) on
free ports, then adds `heron simulate` fleets step by step (default: 500 hosts, 500 more, 1,000 more:
0.5k, 1k and 2k hosts stored), each for two 10 s intervals. The default fits a 2-core, 24 GiB machine;
Whole hosts at 10k (`--steps 500 500 4000 5000`) need more memory and cores than this machine has.
Per step it reads, per process (psutil, from /proc): CPU seconds of both collectors and the three
receivers over the sending window, the receivers' resident memory, and their active series
(`prometheus_tsdb_head_series` from each receiver's own /metrics). CPU seconds per unit of work hold up
on a shared machine where wall times do not.
After each step, with all hosts so far stored, it times the rule pack (prometheus/rules/*.rules.yml
expressions) through Thanos Query, with Query's own CPU, and runs the alert engine's evaluation cycle
(the code a Celery worker runs) against Thanos Query for its CPU per rule evaluation.
Then, on a fresh cluster, the pack phase (`--pack-hosts`, default 1k, 5k, 10k): hosts that send only the
metric families the pack reads, added up to each size, and the same pack timing and engine cycles. That
is how 10k hosts fit in 24 GiB; the query and alert-worker unit costs are fitted over these sizes.
The fleets are pre-encoded (`heron simulate --pre-encode`), so their encoding is not in any window.
Unit costs are least-squares slopes over the points (heron_stack.capacity.fit_line); the projection is
heron_stack.capacity.project. Writes docs/benchmarks/capacity.md and docs/img/bench_capacity.png.
"""

from __future__ import annotations

import argparse
import re
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import matplotlib
import psutil
from prometheus_client.parser import text_string_to_metric_families

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from alert_worker.rules.loader import load_rule_files
from bench._report import stamp, version_of
from bench.bench_alerts import PACK, Shard
from bench.bench_cluster import SENDERS
from heron_stack import capacity, components
from heron_stack import config as stack_config
from heron_stack.simulate.command import exporter_factory
from heron_stack.simulate.config import SimulateConfig
from heron_stack.simulate.fleet import Fleet, plan_batches
from heron_stack.simulate.profiles import make_profiles
from heron_stack.simulate.runner import Simulator
from heron_stack.stack_table import COLLECTORS, RECEIVERS
from tests.fixtures.cluster import service_pid, start_cluster
from tests.fixtures.stack import StackHandle

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "benchmarks" / "capacity.md"
IMG = ROOT / "docs" / "img" / "bench_capacity.png"
INTERVAL = 10.0
GIB = 2**30
QUERY_RUNS = 5
ENGINE_CYCLES = 3
NODE = capacity.Node(cores=8, ram_gib=32, utilisation=0.6)
RULE_INTERVAL_S = 30.0
PACK_LOAD_INTERVAL = 20.0
"""Seconds between two reports of a pack-phase host: what the 2-core machine ingests at 10k hosts."""
PROJECT_HOSTS = (1_000, 10_000, 100_000)


@dataclass
class Probe:
    """CPU seconds and RSS of one service's process, read from /proc through psutil."""

    name: str
    proc: psutil.Process

    def cpu(self) -> float:
        t = self.proc.cpu_times()
        return float(t.user + t.system)

    def rss(self) -> int:
        return int(self.proc.memory_info().rss)


def probes(handle: StackHandle, names: tuple[str, ...]) -> list[Probe]:
    return [Probe(n, psutil.Process(service_pid(handle, n))) for n in names]


def cpu(ps: list[Probe]) -> float:
    return sum(p.cpu() for p in ps)


def head_series(handle: StackHandle, receiver: str) -> int:
    """The receiver's `prometheus_tsdb_head_series` (summed over tenants), parsed as Prometheus text: a
    prefix match would also count `prometheus_tsdb_head_series_created_total` and double the figure."""
    port = handle.config.cluster_ports[f"{receiver}_http"]
    text = httpx.get(f"http://{handle.config.host}:{port}/metrics", timeout=30).text
    return int(
        sum(
            sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
            if sample.name == "prometheus_tsdb_head_series"
        )
    )


def pack_exprs() -> list[str]:
    return [r.expr for g in load_rule_files(PACK) for r in g.rules]


def pack_reads(exprs: list[str]) -> Callable[[str], bool]:
    """Whether an agent metric (OTel name) is one the expressions read: its Prometheus name (dots as
    underscores, plus unit suffixes) starts with the OTel name. Label names that happen to match only
    keep more series, never fewer."""
    tokens = set(re.findall(r"[A-Za-z_:][A-Za-z0-9_:]*", " ".join(exprs)))
    return lambda name: any(t.startswith(name.replace(".", "_")) for t in tokens)


def pack_phase(workdir: Path, sizes: list[int], cycles: int) -> list[dict[str, Any]]:
    """The rule pack's latency at fleet sizes too large to hold whole here, on a fresh cluster: hosts send
    only the families the pack reads (pack_reads), every PACK_LOAD_INTERVAL s, added up to each size."""
    handle = start_cluster(workdir)
    rows = []
    try:
        collectors, receivers = probes(handle, COLLECTORS), probes(handle, RECEIVERS)
        query = probes(handle, ("thanos-query",))[0]
        keep = pack_reads(pack_exprs())
        total = 0
        for i, size in enumerate(sizes, start=1):
            if size <= total:
                continue
            load = load_step(
                handle, i, size - total, size, cycles, collectors, receivers,
                keep=keep, interval=PACK_LOAD_INTERVAL, prefix="pack",
            )  # fmt: skip
            total = size
            row = {
                "hosts_total": total,
                "series_per_host": load["series_per_host"],
                "failed": load["failed"],
                "head_series": float(sum(head_series(handle, r) for r in RECEIVERS)),
                **time_pack(handle.prometheus_url, query),
            }
            row.update(engine_cost(handle.prometheus_url, f"redis://{handle.config.addr('redis')}/{i}"))
            print(row, flush=True)
            rows.append(row)
    finally:
        handle.stack.down()
    return rows


def time_pack(query_url: str, query: Probe) -> dict[str, Any]:
    """Run every pack expression once per run through Thanos Query: wall per run, Query's CPU per run."""
    exprs = pack_exprs()
    walls = []
    c0 = query.cpu()
    with httpx.Client(timeout=120) as client:
        for _ in range(QUERY_RUNS):
            t0 = time.perf_counter()
            for expr in exprs:
                resp = client.get(f"{query_url}/api/v1/query", params={"query": expr})
                resp.raise_for_status()
            walls.append(time.perf_counter() - t0)
    return {
        "rules": len(exprs),
        "pack_mean_s": statistics.fmean(walls),
        "pack_max_s": max(walls),
        "query_cpu_s_per_pack": (query.cpu() - c0) / QUERY_RUNS,
        "query_n": QUERY_RUNS,
    }


def engine_cost(query_url: str, redis_url: str) -> dict[str, Any]:
    """The alert engine's CPU per cycle of the pack against Thanos Query (mean over the cycles after the first)."""
    shard = Shard(query_url, redis_url)
    try:
        base = time.time()
        cycles = [shard.cycle(base + 55.0 * c) for c in range(ENGINE_CYCLES)]
    finally:
        shard.source.close()
    rules = sum(len(g.rules) for g in shard.groups)
    steady = [c["cpu"] for c in cycles[1:]]
    return {"engine_cpu_s_per_cycle": statistics.fmean(steady), "engine_n": len(steady), "engine_rules": rules}


def idle_point(collectors: list[Probe], receivers: list[Probe], seconds: float = 20.0) -> dict[str, Any]:
    c0, r0, t0 = cpu(collectors), cpu(receivers), time.monotonic()
    time.sleep(seconds)
    window = time.monotonic() - t0
    return {
        "hosts_total": 0,
        "step_hosts": 0,
        "samples_per_s": 0.0,
        "collector_cores": (cpu(collectors) - c0) / window,
        "receiver_cores": (cpu(receivers) - r0) / window,
        "window_s": window,
        "written_series": 0,
        "failed": 0,
    }


def load_step(
    handle: StackHandle,
    step: int,
    hosts: int,
    total: int,
    cycles: int,
    collectors: list[Probe],
    receivers: list[Probe],
    *,
    keep: Callable[[str], bool] | None = None,
    interval: float = INTERVAL,
    prefix: str = "cap",
) -> dict[str, Any]:
    """Send `hosts` new hosts for `cycles` intervals; CPU of each tier over the window until all was answered."""
    endpoint = handle.config.url("otlp_http") + "/v1/metrics"
    sim_cfg = SimulateConfig(hosts=hosts, interval=interval, endpoint=endpoint)
    fleet = Fleet(make_profiles(hosts, f"{prefix}{step}-", seed=step), version="bench", keep=keep)
    marks: list[tuple[float, float, float]] = []
    sim = Simulator(
        fleet,
        plan_batches(hosts, sim_cfg.batch_hosts),
        interval,
        exporter_factory(sim_cfg),
        senders=SENDERS,
        pre_encode=True,  # built before the window: the simulator's encoding is not the tiers' cost
        on_start=lambda: marks.append((cpu(collectors), cpu(receivers), time.monotonic())),
    )
    reports = sim.run(cycles)
    c0, r0, t0 = marks[0]
    time.sleep(2)  # the third receiver copy follows the write quorum
    window = time.monotonic() - t0
    sent = sum(r.points for r in reports)
    row = {
        "hosts_total": total,
        "step_hosts": hosts,
        "samples_per_s": sent / window,
        "collector_cores": (cpu(collectors) - c0) / window,
        "receiver_cores": (cpu(receivers) - r0) / window,
        "window_s": window,
        "sent": sent,
        "written_series": sent // cycles,
        "series_per_host": sent / cycles / hosts,
        "failed": sum(r.failed_points for r in reports),
    }
    print(row, flush=True)
    return row


def memory_point(handle: StackHandle, receivers: list[Probe]) -> dict[str, float]:
    return {
        "head_series": float(sum(head_series(handle, r) for r in RECEIVERS)),
        "rss_gib": sum(p.rss() for p in receivers) / GIB,
    }


def unit_costs(
    loads: list[dict[str, Any]],
    mems: list[dict[str, float]],
    steps: list[dict[str, Any]],
    pack: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Slopes per tier; query and alert-worker costs over the pack phase's sizes when it ran (the widest range)."""
    coll = capacity.fit_line([r["samples_per_s"] for r in loads], [r["collector_cores"] for r in loads])
    # Receivers ingest every sample three times (replication factor 3). A step that falls behind sends each
    # series less often than every 10 s, so CPU is fitted against stored samples/s, then read as series at 10 s.
    recv = capacity.fit_line([3 * r["samples_per_s"] for r in loads], [r["receiver_cores"] for r in loads])
    mem = capacity.fit_line([m["head_series"] for m in mems], [m["rss_gib"] for m in mems])
    sized = pack or steps
    query = capacity.fit_line([s["hosts_total"] for s in sized], [s["query_cpu_s_per_pack"] for s in sized])
    engine = capacity.fit_line(
        [s["hosts_total"] for s in sized], [s["engine_cpu_s_per_cycle"] / s["engine_rules"] for s in sized]
    )
    return {
        "fits": {"collector": coll, "receiver_cpu": recv, "receiver_rss": mem, "query": query, "engine": engine},
        "costs": capacity.UnitCosts(
            collector_cores_per_10k_samples_s=coll.slope * 10_000,
            receiver_cores_per_100k_series=recv.slope * 100_000 / INTERVAL,
            receiver_gib_per_100k_series=mem.slope * 100_000,
            query_cpu_s_per_pack_per_1k_hosts=query.slope * 1000,
            worker_cpu_s_per_rule_per_1k_hosts=engine.slope * 1000,
            measured_interval_s=INTERVAL,
        ),
    }


def pack_table(rows: list[dict[str, Any]]) -> list[str]:
    return [
        "| hosts stored | pack wall s (mean) | pack wall s (max of n) | n | Query CPU s / pack "
        "| engine CPU s / cycle | engine CPU ms / rule |",
        "|---|---|---|---|---|---|---|",
        *(
            f"| {s['hosts_total']} | {s['pack_mean_s']:.2f} | {s['pack_max_s']:.2f} | {s['query_n']} | "
            f"{s['query_cpu_s_per_pack']:.3f} | {s['engine_cpu_s_per_cycle']:.3f} | "
            f"{1000 * s['engine_cpu_s_per_cycle'] / s['engine_rules']:.1f} |"
            for s in rows
        ),
    ]


def pack_bias(steps: list[dict[str, Any]], pack: list[dict[str, Any]]) -> str:
    """How much cheaper the pack ran on pack-only hosts than on whole hosts, at a size measured both ways."""
    whole = {s["hosts_total"]: s for s in steps}
    both = [p for p in pack if p["hosts_total"] in whole]
    if not both:
        return ""
    p, w = both[0], whole[both[0]["hosts_total"]]
    ratio = p["query_cpu_s_per_pack"] / w["query_cpu_s_per_pack"]
    return (
        f" At {p['hosts_total']} hosts, measured both ways, the pack cost Query {p['query_cpu_s_per_pack']:.3f} CPU s "
        f"on these hosts against {w['query_cpu_s_per_pack']:.3f} on whole hosts ({ratio:.2f}x): a whole host's other "
        "series still cost the index some work, so the figures at larger sizes are low by about that factor."
    )


def write_report(
    loads: list[dict[str, Any]],
    mems: list[dict[str, float]],
    steps: list[dict[str, Any]],
    fitted: dict[str, Any],
    pack: list[dict[str, Any]],
) -> None:
    costs: capacity.UnitCosts = fitted["costs"]
    fits = fitted["fits"]
    series_per_host = max(r["series_per_host"] for r in loads if r["step_hosts"])  # the larger: sizes stay safe
    rules = steps[-1]["engine_rules"]
    projections = {
        h: capacity.project(
            capacity.Workload(hosts=h, series_per_host=series_per_host, rules=rules, rule_interval_s=RULE_INTERVAL_S),
            costs,
            NODE,
        )
        for h in PROJECT_HOSTS
    }
    DOC.parent.mkdir(parents=True, exist_ok=True)
    IMG.parent.mkdir(parents=True, exist_ok=True)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    xs = [r["samples_per_s"] for r in loads]
    ax1.plot(xs, [r["collector_cores"] for r in loads], "o", label="collectors (measured)")
    ax1.plot(xs, [fits["collector"].slope * x + fits["collector"].intercept for x in xs], "-", color="C0")
    ax1.plot(xs, [r["receiver_cores"] for r in loads], "s", color="C1", label="receivers x3 (measured)")
    ax1.plot(
        xs,
        [fits["receiver_cpu"].slope * 3 * x + fits["receiver_cpu"].intercept for x in xs],
        "-",
        color="C1",
    )
    ax1.set_xlabel("samples/s into the cluster")
    ax1.set_ylabel("cores (CPU s / s)")
    ax1.set_title("measured tier CPU and linear fit")
    ax1.legend()
    tier_names = [t.name for t in projections[PROJECT_HOSTS[0]]]
    width = 0.8 / len(PROJECT_HOSTS)
    for i, h in enumerate(PROJECT_HOSTS):
        ax2.bar(
            [k + i * width for k in range(len(tier_names))],
            [t.nodes for t in projections[h]],
            width,
            label=f"{h:,} hosts",
        )
    ax2.set_xticks([k + width for k in range(len(tier_names))], tier_names)
    ax2.set_yscale("log")
    ax2.set_ylabel(f"nodes ({NODE.cores:g} cores, {NODE.ram_gib:g} GiB, {NODE.utilisation:.0%} used)")
    ax2.set_title("projected nodes per tier")
    ax2.legend()
    fig.tight_layout()
    fig.savefig(IMG, dpi=100)
    comps = components.registry(stack_config.resolve({}))
    versions = {name: version_of([str(comps[name].locate().path), "--version"]) for name in ("collector", "thanos")}
    lines = [
        "## Capacity model: unit cost per tier",
        "",
        stamp(),
        "",
        f"Cluster topology (2 collectors {versions['collector']} behind HAProxy, 3 Thanos {versions['thanos']} "
        "receivers with replication factor 3, Thanos Query) on this one machine, driven by `heron simulate` "
        f"fleets at {INTERVAL:g} s added step by step. CPU seconds and RSS per process from /proc (psutil), "
        "summed over each tier; active series from each receiver's `prometheus_tsdb_head_series`. "
        f"Measured series per simulated host: **{series_per_host:.0f}**. Everything shares 2 cores with the "
        "simulator, so wall times are noisy; CPU seconds per unit of work are what the model uses.",
        "",
        "| step | hosts stored | new hosts | samples/s achieved | window s | collector cores | receiver cores (3) "
        "| points failed |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for i, r in enumerate(loads):
        lines.append(
            f"| {'idle' if i == 0 else i} | {r['hosts_total']} | {r['step_hosts']} | {r['samples_per_s']:.0f} | "
            f"{r['window_s']:.1f} | {r['collector_cores']:.3f} | {r['receiver_cores']:.3f} | {r['failed']} |"
        )
    lines += [
        "",
        "| point | head series (sum of 3 receivers) | receivers' RSS GiB (sum) |",
        "|---|---|---|",
        *(f"| {i} | {m['head_series']:.0f} | {m['rss_gib']:.2f} |" for i, m in enumerate(mems)),
        "",
        f"Rule pack ({rules} rules, `prometheus/rules/*.rules.yml`) through Thanos Query, {QUERY_RUNS} runs per "
        f"size (too few for a percentile: mean and max of {QUERY_RUNS}); alert engine cycles against Thanos "
        f"Query, mean CPU of the {steps[0]['engine_n']} cycles after the first:",
        "",
        *pack_table(steps),
    ]
    if pack:
        lines += [
            "",
            f"The rule pack at larger fleets, on a fresh cluster: hosts that send only the families the pack reads "
            f"({pack[-1]['series_per_host']:.0f} series per host, every {PACK_LOAD_INTERVAL:g} s; "
            f"{pack[-1]['head_series']:.0f} head series over the 3 receivers at {pack[-1]['hosts_total']} hosts), "
            f"so {pack[-1]['hosts_total']:,} hosts fit in this machine's memory. The pack's queries select the "
            "same series as with whole hosts; the query and alert-worker unit costs below are fitted over these "
            f"sizes. Points failed while loading: {sum(int(r['failed']) for r in pack)}.{pack_bias(steps, pack)}",
            "",
            *pack_table(pack),
        ]
    lines += [
        "",
        "Unit costs (least-squares slope over the points above; intercept = idle cost):",
        "",
        "| tier | unit cost | fit intercept |",
        "|---|---|---|",
        f"| collector | **{costs.collector_cores_per_10k_samples_s:.3f} cores per 10k samples/s** | "
        f"{fits['collector'].intercept:.3f} cores |",
        f"| receiver CPU | **{costs.receiver_cores_per_100k_series:.3f} cores per 100k stored series** at "
        f"{INTERVAL:g} s (fitted per stored sample/s: 100k series at {INTERVAL:g} s = {100_000 / INTERVAL:.0f} "
        f"samples/s) | {fits['receiver_cpu'].intercept:.3f} cores |",
        f"| receiver RAM | **{costs.receiver_gib_per_100k_series:.3f} GiB per 100k head series** | "
        f"{fits['receiver_rss'].intercept:.2f} GiB |",
        f"| query | **{costs.query_cpu_s_per_pack_per_1k_hosts:.3f} CPU s per pack run per 1k hosts** | "
        f"{fits['query'].intercept:.3f} s |",
        f"| alert worker | **{1000 * costs.worker_cpu_s_per_rule_per_1k_hosts:.2f} CPU ms per rule evaluation "
        f"per 1k hosts** | {1000 * fits['engine'].intercept:.2f} ms |",
        "",
        f"Projection (`heron_stack.capacity.project`): nodes of {NODE.cores:g} cores and {NODE.ram_gib:g} GiB "
        f"planned to {NODE.utilisation:.0%}, agents every {INTERVAL:g} s with {series_per_host:.0f} series each, "
        f"replication factor 3, the {rules}-rule pack evaluated every {RULE_INTERVAL_S:g} s; at least 2 of each "
        "stateless tier and 3 receivers.",
        "",
        "| tier | " + " | ".join(f"{h:,} hosts: cores / GiB / nodes" for h in PROJECT_HOSTS) + " |",
        "|---|" + "---|" * len(PROJECT_HOSTS),
    ]
    for k, name in enumerate(tier_names):
        cells = []
        for h in PROJECT_HOSTS:
            t = projections[h][k]
            cells.append(f"{t.cores:.1f} / {t.ram_gib:.0f} / **{t.nodes}** ({t.bound_by})")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "![capacity model](../img/bench_capacity.png)",
        "",
        "Reproduce: `.venv/bin/python -m bench.bench_capacity`. What the model covers and what it does not: "
        'docs/scaling.md, "Capacity model".',
        "",
    ]
    DOC.write_text("\n".join(lines), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, nargs="+", default=[500, 500, 1000], help="hosts added per step")
    parser.add_argument("--cycles", type=int, default=2, help="10 s intervals each step sends")
    parser.add_argument(
        "--pack-hosts",
        type=int,
        nargs="*",
        default=[1000, 5000, 10000],
        help="fleet sizes for the rule pack's latency (hosts send only what the pack reads); none to skip",
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="heron-bench-capacity-") as tmp:
        handle = start_cluster(Path(tmp))
        try:
            collectors = probes(handle, COLLECTORS)
            receivers = probes(handle, RECEIVERS)
            query = probes(handle, ("thanos-query",))[0]
            query_url = handle.prometheus_url
            loads = [idle_point(collectors, receivers)]
            mems = [memory_point(handle, receivers)]
            steps = []
            total = 0
            for i, hosts in enumerate(args.steps, start=1):
                total += hosts
                loads.append(load_step(handle, i, hosts, total, args.cycles, collectors, receivers))
                mems.append(memory_point(handle, receivers))
                print(mems[-1], flush=True)
                step = {"hosts_total": total, **time_pack(query_url, query)}
                step.update(engine_cost(query_url, f"redis://{handle.config.addr('redis')}/{i}"))
                print(step, flush=True)
                steps.append(step)
        finally:
            handle.stack.down()
        pack = pack_phase(Path(tmp) / "pack", args.pack_hosts, args.cycles) if args.pack_hosts else []
    write_report(loads, mems, steps, unit_costs(loads, mems, steps, pack), pack)
    print(f"wrote {DOC.relative_to(ROOT)} and {IMG.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
