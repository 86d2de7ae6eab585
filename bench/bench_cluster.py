"""Benchmark both topologies in one run: the largest fleet each takes at 10 s with no point lost.

Run: .venv/bin/python -m bench.bench_cluster [--hosts N ...]
For each topology (single: collector + Prometheus; cluster: HAProxy, 2 collectors, 3 Thanos receivers
with replication factor 3, Query, store gateway, compactor, VictoriaLogs tiers) and each N, starts a fresh
stack through heron_stack (the code behind `heron up` and `heron up --topology cluster`) on free ports,
runs `heron simulate`'s fleet in-process for 3 intervals of 10 s, then counts the samples the metrics API
(Prometheus, or Thanos Query) returns for the fleet against the points the simulator had accepted.
Default plan: 500, 1,000 and 2,000 hosts on each topology (about 10 minutes).
Writes docs/benchmarks/cluster.md and docs/img/bench_cluster.png.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from bench._report import stamp, version_of
from bench.bench_fleet import wait_stored
from heron_stack import cluster, components
from heron_stack import config as stack_config
from heron_stack import environment_variables as ev
from heron_stack.simulate.command import exporter_factory
from heron_stack.simulate.config import SimulateConfig
from heron_stack.simulate.fleet import Fleet, plan_batches
from heron_stack.simulate.profiles import make_profiles
from heron_stack.simulate.runner import Simulator
from heron_stack.stack import Stack
from heron_stack.stack_table import CLUSTER_PORT_NAMES
from tests.fixtures.stack import free_ports

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "benchmarks" / "cluster.md"
IMG = ROOT / "docs" / "img" / "bench_cluster.png"
INTERVAL = 10.0
CYCLES = 3
SINGLE = ["redis", "prometheus", "collector"]
CLUSTER = [n for n in cluster.CLUSTER_INFRASTRUCTURE if n != "redis"]


def start(topology: str, state_dir: Path) -> Stack:
    names = list(ev.PORT_VARIABLES) + list(CLUSTER_PORT_NAMES)
    ports = free_ports(names)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HERON_", "OTEL_"))}
    env.update({ev.HERON_TOPOLOGY: topology, ev.HERON_PROMETHEUS: "v3"})
    cfg = stack_config.resolve(
        env,
        state_dir=state_dir,
        ports={n: ports[n] for n in ev.PORT_VARIABLES},
        cluster_ports={n: ports[n] for n in CLUSTER_PORT_NAMES},
    )
    stack = Stack(cfg, progress=lambda line: print(line, flush=True))
    try:
        stack.up(SINGLE if topology == "single" else CLUSTER)
    except BaseException:
        stack.down()
        raise
    return stack


def run_step(topology: str, hosts: int, workdir: Path) -> dict[str, Any]:
    stack = start(topology, workdir / f"{topology}-{hosts}")
    cfg = stack.config
    try:
        prefix = f"{topology}{hosts}-"
        sim_cfg = SimulateConfig(hosts=hosts, interval=INTERVAL, endpoint=cfg.url("otlp_http") + "/v1/metrics")
        fleet = Fleet(make_profiles(hosts, prefix, seed=1), version="bench")
        sim = Simulator(fleet, plan_batches(hosts, sim_cfg.batch_hosts), INTERVAL, exporter_factory(sim_cfg), senders=4)
        started = time.time()
        reports = sim.run(CYCLES)
        sent = sum(r.points for r in reports)
        failed = sum(r.failed_points for r in reports)
        stored = wait_stored(cfg.url("prometheus"), prefix, started - 1, time.time(), sent)
        row = {
            "topology": topology,
            "hosts": hosts,
            "sent": sent,
            "failed": failed,
            "stored": stored,
            "lost": sent + failed - stored,
            "behind": sum(not r.kept_up for r in reports),
            "max_finished": max(r.finished for r in reports),
            "points_per_s": sent / (INTERVAL * CYCLES),
        }
        print(row, flush=True)
        return row
    finally:
        stack.down()


def sustained(row: dict[str, Any]) -> bool:
    """Nothing lost or failed, and each interval's points delivered within 1.5 intervals (the rate held)."""
    return bool(row["lost"] == 0 and row["failed"] == 0 and row["max_finished"] <= 1.5 * INTERVAL)


def largest(rows: list[dict[str, Any]], topology: str) -> int:
    return max((int(r["hosts"]) for r in rows if r["topology"] == topology and sustained(r)), default=0)


def write_report(rows: list[dict[str, Any]]) -> None:
    DOC.parent.mkdir(parents=True, exist_ok=True)
    IMG.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(7, 4))
    for topology, marker in (("single", "o-"), ("cluster", "s-")):
        sub = [r for r in rows if r["topology"] == topology]
        ax.plot([r["hosts"] for r in sub], [r["lost"] + r["failed"] for r in sub], marker, label=topology)
    ax.set_xlabel("hosts at 10 s")
    ax.set_title("points lost or failed (simulator → metrics API)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(IMG, dpi=100)
    comps = components.registry(stack_config.resolve({}))
    versions = {
        name: version_of([str(comps[name].locate().path), *flag])
        for name, flag in (("collector", ["--version"]), ("prometheus3", ["--version"]), ("thanos", ["--version"]))
    }
    single, multi = largest(rows, "single"), largest(rows, "cluster")
    ratio = f"{multi / single:.2f}x" if single else "n/a (single-node sustained none)"
    lines = [
        "## Cluster topology vs single node",
        "",
        stamp(),
        "",
        f"`heron simulate` fleets at 10 s, {CYCLES} intervals each, through both topologies in the same run on this "
        f"machine: single node = collector {versions['collector']} + Prometheus {versions['prometheus3']}; cluster = "
        f"HAProxy + 2 collectors + 3 Thanos {versions['thanos']} receivers (replication factor 3) + Query, store "
        "gateway, compactor and the VictoriaLogs tiers (`heron up --topology cluster`). Counted through each "
        "topology's metrics API (Prometheus; Thanos Query).",
        "",
        f"Largest fleet with zero loss: single node **{single} hosts**, cluster **{multi} hosts** "
        f"(cluster / single: **{ratio}**; the goal is 2x).",
        "",
        "| topology | hosts | points/s | accepted | stored | lost / sim. failed | intervals late | last answer s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['topology']} | {r['hosts']} | {r['points_per_s']:.0f} | {r['sent']} | {r['stored']} | "
            f"{r['lost']} / {r['failed']} | {r['behind']} | {r['max_finished']:.1f} |"
        )
    lines += [
        "",
        "![cluster benchmark](../img/bench_cluster.png)",
        "",
        "Both topologies share this machine's cores with the simulator; the cluster writes every sample to three "
        "receivers and runs 14 processes on them. Spread over machines, each tier gets its own cores "
        "(docs/scaling.md).",
        "Reproduce: `.venv/bin/python -m bench.bench_cluster`.",
        "",
    ]
    DOC.write_text("\n".join(lines), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hosts", type=int, nargs="+", default=[500, 1000, 2000], help="fleet sizes to try")
    args = parser.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory(prefix="heron-bench-cluster-") as tmp:
        for hosts in args.hosts:
            for topology in ("single", "cluster"):
                rows.append(run_step(topology, hosts, Path(tmp)))
    write_report(rows)
    print(f"wrote {DOC.relative_to(ROOT)} and {IMG.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
