"""Benchmark both topologies in one run: the largest fleet each takes at 10 s with no point lost.

Run: .venv/bin/python -m bench.bench_cluster [--hosts N ...]
For each topology (single: collector + Prometheus; cluster: HAProxy, 2 collectors, 3 Thanos receivers
with replication factor 3, Query, store gateway, compactor, VictoriaLogs tiers) and each N, starts a fresh
stack through heron_stack (the code behind `heron up` and `heron up --topology cluster`) on free ports,
runs `heron simulate`'s fleet in-process for 3 intervals of 10 s, then counts the samples the metrics API
(Prometheus, or Thanos Query) returns for the fleet against the points the simulator had accepted.
The fleet's requests are pre-encoded (`heron simulate --pre-encode`): built before the first is sent, so
while the fleet sends, the 2 cores go to the stack under test, not to encoding; SENDERS threads post them.
Every collector gets the memory limit docs/simulate.md gives fleets (bench._stack.FLEET_COLLECTOR_MEMORY_MIB).
Default plan: 1,000, 1,500, 2,000 and 3,000 hosts on the single node and the shipped cluster, plus each receiver
variant (VARIANTS) at the smallest size, about 20 minutes. CPU and peak memory are sampled per tier
(TIERS) while the fleet sends.
Writes docs/benchmarks/cluster.md and docs/img/bench_cluster.png.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import httpx
import matplotlib.pyplot as plt
import psutil

from bench._report import stamp, version_of
from bench._stack import FLEET_COLLECTOR_MEMORY_MIB, collector_memory, service_pid
from bench.bench_fleet import wait_stored
from heron_stack import cluster, components
from heron_stack import config as stack_config
from heron_stack import environment_variables as ev
from heron_stack.runner import ServiceSpec
from heron_stack.simulate.command import exporter_factory
from heron_stack.simulate.config import SimulateConfig
from heron_stack.simulate.fleet import Fleet, plan_batches
from heron_stack.simulate.profiles import make_profiles
from heron_stack.simulate.runner import Simulator
from heron_stack.stack import Stack
from heron_stack.stack_table import CLUSTER_PORT_NAMES, COLLECTORS, LOG_STORAGE, RECEIVERS, SENTINELS
from tests.fixtures.stack import free_ports

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "benchmarks" / "cluster.md"
IMG = ROOT / "docs" / "img" / "bench_cluster.png"
ROWS = ROOT / "docs" / "benchmarks" / "cluster.rows.json"
"""The measured rows, so `--report-only` redraws the report without measuring again."""
INTERVAL = 10.0
CYCLES = 3
SENDERS = 8
"""Requests in flight at once: a real fleet's agents send independently; the cluster's collectors answer
only once the receivers have the data, so a few more than `heron simulate`'s default 4 keep it fed.
(16 overloaded this 2-core machine: requests timed out.)"""
SINGLE = ["redis", "prometheus", "collector"]
CLUSTER = [n for n in cluster.CLUSTER_INFRASTRUCTURE if n != "redis"]

TIERS: Mapping[str, tuple[str, ...]] = {
    "collectors": ("collector", *COLLECTORS),
    "prometheus": ("prometheus",),
    "receivers": RECEIVERS,
    "query": ("thanos-query",),
    "store/compact/rule": ("thanos-store", "thanos-compact", "thanos-rule"),
    "victorialogs": (*LOG_STORAGE, "vlinsert", "vlselect"),
    "haproxy": ("haproxy",),
    "redis": ("redis", "redis-replica", *SENTINELS),
}
"""Process groups whose CPU and memory are reported; the simulator (this process) is its own tier."""

VARIANTS: Mapping[str, tuple[str, ...]] = {
    "cluster": (),
    "cluster, capnp": ("--receive.replication-protocol=capnproto",),
    "cluster, no grpc compression": ("--receive.grpc-compression=none",),
}
"""Receiver flags tried on top of the shipped ones (stack_table.THANOS_RECEIVE_FLAGS), each in the same run."""


class VariantStack(Stack):
    """The stack `heron up` runs, with extra flags on every Thanos receiver."""

    def __init__(self, *args: Any, receive_flags: Sequence[str] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.receive_flags = tuple(receive_flags)

    def specs(self, names: Sequence[str] | None = None) -> dict[str, ServiceSpec]:
        out = super().specs(names)
        for name in RECEIVERS:
            if name in out and self.receive_flags:
                out[name] = dataclasses.replace(out[name], argv=[*out[name].argv, *self.receive_flags])
        return out


class TierSampler:
    """CPU (cores: CPU seconds / wall seconds) and peak RSS (MiB, summed) of each tier's processes."""

    def __init__(self, stack: Stack) -> None:
        self.procs: dict[str, list[psutil.Process]] = {"simulator": [psutil.Process()]}
        for tier, names in TIERS.items():
            running = [stack.runner.state(n) for n in names if n in stack.start_order]
            pids = [service_pid(st.pid) for st in running if st.running and st.pid]
            if pids:
                self.procs[tier] = [psutil.Process(pid) for pid in pids]
        self.cpu0 = {tier: self._cpu(ps) for tier, ps in self.procs.items()}
        self.rss = dict.fromkeys(self.procs, 0)
        self.t0 = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    @staticmethod
    def _cpu(procs: list[psutil.Process]) -> float:
        total = 0.0
        for p in procs:
            try:
                t = p.cpu_times()
            except psutil.Error:
                continue
            total += t.user + t.system
        return total

    def _loop(self) -> None:
        while not self._stop.wait(1.0):
            for tier, ps in self.procs.items():
                rss = 0
                for p in ps:
                    with contextlib.suppress(psutil.Error):
                        rss += p.memory_info().rss
                self.rss[tier] = max(self.rss[tier], rss)

    def finish(self) -> dict[str, dict[str, float]]:
        self._stop.set()
        self._thread.join()
        wall = time.monotonic() - self.t0
        return {
            tier: {"cpu": (self._cpu(ps) - self.cpu0[tier]) / wall, "rss_mib": self.rss[tier] / 2**20}
            for tier, ps in self.procs.items()
        }


def start(topology: str, state_dir: Path, receive_flags: Sequence[str] = ()) -> Stack:
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
    stack = VariantStack(cfg, progress=lambda line: print(line, flush=True), receive_flags=receive_flags)
    try:
        with collector_memory(FLEET_COLLECTOR_MEMORY_MIB):  # the single node's collector batches and queues
            stack.up(SINGLE if topology == "single" else CLUSTER)
    except BaseException:
        stack.down()
        raise
    return stack


def run_step(variant: str, hosts: int, workdir: Path) -> dict[str, Any]:
    topology = "single" if variant == "single" else "cluster"
    stack = start(topology, workdir / f"{len(os.listdir(workdir))}-{hosts}", VARIANTS.get(variant, ()))
    cfg = stack.config
    try:
        prefix = f"{topology}{hosts}-"
        sim_cfg = SimulateConfig(hosts=hosts, interval=INTERVAL, endpoint=cfg.url("otlp_http") + "/v1/metrics")
        fleet = Fleet(make_profiles(hosts, prefix, seed=1), version="bench")
        samplers: list[TierSampler] = []
        sim = Simulator(
            fleet,
            plan_batches(hosts, sim_cfg.batch_hosts),
            INTERVAL,
            exporter_factory(sim_cfg),
            senders=SENDERS,
            pre_encode=True,
            on_start=lambda: samplers.append(TierSampler(stack)),
        )
        started = time.time()
        reports = sim.run(CYCLES)
        tiers = samplers[0].finish()
        sent = sum(r.points for r in reports)
        failed = sum(r.failed_points for r in reports)
        try:
            stored = wait_stored(cfg.url("prometheus"), prefix, started - 1, time.time(), sent)
        except httpx.HTTPError as exc:  # the metrics API did not answer: nothing counted, reported as such
            print(f"  counting failed: {exc!r}", flush=True)
            stored = -1
        row = {
            "topology": variant,
            "tiers": tiers,
            "hosts": hosts,
            "sent": sent,
            "failed": failed,
            "stored": stored,
            "lost": sent + failed - stored if stored >= 0 else sent + failed,
            "behind": sum(not r.kept_up for r in reports),
            "max_finished": max(r.finished for r in reports),
            "points_per_s": sent / (INTERVAL * CYCLES),
        }
        print({k: v for k, v in row.items() if k != "tiers"}, flush=True)
        print({t: f"{v['cpu']:.2f} cores, {v['rss_mib']:.0f} MiB" for t, v in tiers.items()}, flush=True)
        return row
    finally:
        stack.down()


def sustained(row: dict[str, Any]) -> bool:
    """Nothing lost or failed, and each interval's points delivered within 1.5 intervals (the rate held)."""
    counted = row["stored"] >= 0 and row["lost"] == 0 and row["failed"] == 0
    return bool(counted and row["max_finished"] <= 1.5 * INTERVAL)


def largest(rows: list[dict[str, Any]], topology: str) -> int:
    return max((int(r["hosts"]) for r in rows if r["topology"] == topology and sustained(r)), default=0)


def tier_names(rows: list[dict[str, Any]]) -> list[str]:
    seen = {t for r in rows for t in r["tiers"]}
    return [t for t in (*TIERS, "simulator") if t in seen]


def plot(rows: list[dict[str, Any]]) -> None:
    variants = list(dict.fromkeys(r["topology"] for r in rows))
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 4.8))
    for variant, marker in zip(variants, ("o-", "s-", "^-", "d-"), strict=False):
        sub = [r for r in rows if r["topology"] == variant]
        left.plot([r["hosts"] for r in sub], [r["max_finished"] for r in sub], marker, label=variant)
    left.axhline(1.5 * INTERVAL, color="grey", linestyle=":", label="late (1.5 intervals)")
    left.set_xlabel("hosts at 10 s")
    left.set_ylabel("s")
    left.set_title("last answer of an interval (lower is better)")
    left.legend()
    largest_hosts = max(int(r["hosts"]) for r in rows)
    top = [r for r in rows if r["hosts"] == largest_hosts]
    tiers = tier_names(top)
    bottom = [0.0] * len(top)
    for tier in tiers:
        cpu = [float(r["tiers"].get(tier, {}).get("cpu", 0.0)) for r in top]
        right.bar([r["topology"] for r in top], cpu, bottom=bottom, label=tier)
        bottom = [b + c for b, c in zip(bottom, cpu, strict=True)]
    right.axhline(psutil.cpu_count() or 0, color="black", linestyle="--", label="cores on this machine")
    right.set_ylabel("CPU cores (CPU s / wall s)")
    right.set_title(f"CPU per tier at {largest_hosts} hosts")
    right.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    right.tick_params(axis="x", labelrotation=12, labelsize=8)
    fig.tight_layout()
    fig.savefig(IMG, dpi=100)


def limits(rows: list[dict[str, Any]], single_hosts: int, best: str) -> list[str]:
    """What limits the cluster on this machine, from the per-tier CPU at the smallest fleet both ran."""
    both = sorted({int(r["hosts"]) for r in rows if r["topology"] == "single"} & {int(r["hosts"]) for r in rows})
    if not both or not single_hosts:
        return []
    hosts = both[0]
    at = {r["topology"]: r for r in rows if int(r["hosts"]) == hosts}
    if "single" not in at or best not in at:
        return []

    def total(row: dict[str, Any]) -> float:
        return sum(float(v["cpu"]) for v in row["tiers"].values())

    per_k = {name: total(row) * 1000 / hosts for name, row in at.items()}
    goal = 2 * single_hosts
    need = per_k[best] * goal / 1000
    receivers = float(at[best]["tiers"].get("receivers", {}).get("cpu", 0.0))
    prom = float(at["single"]["tiers"].get("prometheus", {}).get("cpu", 0.0))
    cores = psutil.cpu_count() or 0
    return [
        f"What limits the cluster here: at {hosts} hosts (this run's smallest fleet), the single node used "
        f"{per_k['single']:.2f} cores per 1,000 hosts and the cluster {per_k[best]:.2f}; its receivers alone "
        f"{receivers:.2f} cores against Prometheus' {prom:.2f} (each sample is appended by three "
        "receivers and forwarded to two of them: replication factor 3, which stays). The goal, "
        f"{goal} hosts, would take about {need:.1f} cores at that rate; this machine has {cores}, shared with "
        "the simulator.",
        "",
        *(
            f"* `{name}` at {hosts} hosts: receivers {float(row['tiers'].get('receivers', {}).get('cpu', 0.0)):.2f} "
            f"cores, last answer {row['max_finished']:.1f} s, against {receivers:.2f} cores and "
            f"{at[best]['max_finished']:.1f} s for `{best}`."
            for name, row in at.items()
            if name not in ("single", best)
        ),
    ]


def write_report(rows: list[dict[str, Any]], measured: str) -> None:
    DOC.parent.mkdir(parents=True, exist_ok=True)
    IMG.parent.mkdir(parents=True, exist_ok=True)
    plot(rows)
    comps = components.registry(stack_config.resolve({}))
    versions = {
        name: version_of([str(comps[name].locate().path), *flag])
        for name, flag in (("collector", ["--version"]), ("prometheus3", ["--version"]), ("thanos", ["--version"]))
    }
    variants = list(dict.fromkeys(r["topology"] for r in rows))
    single = largest(rows, "single")
    best = max((v for v in variants if v != "single"), key=lambda v: largest(rows, v), default="cluster")
    multi = largest(rows, best)
    ratio = f"{multi / single:.2f}x" if single else "n/a (single-node sustained none)"
    flags = "; ".join(f"`{v}` adds `{' '.join(f)}`" for v, f in VARIANTS.items() if f and v in variants)
    lines = [
        "## Cluster topology vs single node",
        "",
        measured,
        "",
        f"`heron simulate` fleets at 10 s, {CYCLES} intervals each, through both topologies in the same run on this "
        f"machine (n = 1 run of {CYCLES} intervals per row): single node = collector {versions['collector']} + "
        f"Prometheus {versions['prometheus3']}; cluster = HAProxy + 2 collectors + 3 Thanos {versions['thanos']} "
        "receivers (replication factor 3) + Query, store gateway, compactor, ruler, the VictoriaLogs tiers and "
        "Redis under Sentinel (`heron up --topology cluster`). Counted through each topology's metrics API "
        f"(Prometheus; Thanos Query). Every collector runs with the memory limit docs/simulate.md gives fleets "
        f"(`HERON_COLLECTOR_MEMORY_LIMIT_MIB={FLEET_COLLECTOR_MEMORY_MIB}`; with the default 400 MiB the single "
        "node's collector refused data at 2,000 hosts). The requests are pre-encoded (`heron simulate "
        f"--pre-encode`) and {SENDERS} "
        f"senders post them. Receiver variants tried in the same run, at the smallest fleet: {flags or 'none'}.",
        "",
        f"Largest fleet with zero loss and no late interval: single node **{single} hosts**, cluster "
        f"(`{best}`) **{multi} hosts** (cluster / single: **{ratio}**; the goal is 2x).",
        "",
        "| topology | hosts | points/s | accepted | stored | lost / sim. failed | intervals late | last answer s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['topology']} | {r['hosts']} | {r['points_per_s']:.0f} | {r['sent']} | "
            f"{r['stored'] if r['stored'] >= 0 else 'query timed out'} | "
            f"{r['lost']} / {r['failed']} | {r['behind']} | {r['max_finished']:.1f} |"
        )
    tiers = tier_names(rows)
    lines += [
        "",
        "CPU (cores: CPU seconds / wall seconds while the fleet sent) and peak resident memory (MiB, summed over "
        "the tier's processes) per tier; `simulator` is the benchmark process that sends the fleet's pre-encoded "
        "OTLP requests (building them, before the fleet starts, is not counted).",
        "",
        "| topology | hosts | " + " | ".join(tiers) + " | total CPU |",
        "|---|---|" + "---|" * (len(tiers) + 1),
    ]
    for r in rows:
        cells = [
            f"{r['tiers'][t]['cpu']:.2f} / {r['tiers'][t]['rss_mib']:.0f}" if t in r["tiers"] else "-" for t in tiers
        ]
        total = sum(v["cpu"] for v in r["tiers"].values())
        lines.append(f"| {r['topology']} | {r['hosts']} | " + " | ".join(cells) + f" | {total:.2f} |")
    lines += ["", *limits(rows, single, best)]
    lines += [
        "",
        "![cluster benchmark](../img/bench_cluster.png)",
        "",
        "Reproduce: `.venv/bin/python -m bench.bench_cluster`.",
        "",
    ]
    DOC.write_text("\n".join(lines), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--hosts", type=int, nargs="+", default=[1000, 1500, 2000, 3000], help="fleet sizes (variants: the first only)"
    )
    parser.add_argument(
        "--variants", nargs="+", default=["single", *VARIANTS], choices=["single", *VARIANTS], help="what to run"
    )
    parser.add_argument("--report-only", action="store_true", help=f"redraw the report from {ROWS.name}")
    args = parser.parse_args(argv)
    if args.report_only:
        saved = json.loads(ROWS.read_text(encoding="utf-8"))
        write_report(saved["rows"], saved["stamp"])
        return 0
    rows = []
    with tempfile.TemporaryDirectory(prefix="heron-bench-cluster-") as tmp:
        for hosts in args.hosts:
            for variant in args.variants:
                if variant in ("single", "cluster") or hosts == args.hosts[0]:
                    rows.append(run_step(variant, hosts, Path(tmp)))
    measured = stamp()
    ROWS.write_text(json.dumps({"stamp": measured, "rows": rows}, indent=1), encoding="utf-8")
    write_report(rows, measured)
    print(f"wrote {DOC.relative_to(ROOT)} and {IMG.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
