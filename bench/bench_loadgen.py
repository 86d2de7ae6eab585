"""Benchmark loadgen's precision: CPU duty cycle, traffic rate, memory size.

Run: .venv/bin/python -m bench.bench_loadgen [--long]
Writes docs/benchmarks/loadgen.md and docs/img/bench_loadgen.png.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import matplotlib
import psutil

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from bench._report import computed_pct, stamp
from loadgen.actions.base import ActionEnv
from loadgen.actions.cpu import available_cores
from loadgen.actions.memory import MemoryLeak
from loadgen.actions.traffic import RESERVOIR
from loadgen.config import LoadgenConfig
from loadgen.validation import MemoryLeakRequest

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "benchmarks" / "loadgen.md"
IMG = ROOT / "docs" / "img" / "bench_loadgen.png"
TARGETS = (10, 25, 50, 75, 90, 95)
RATES = (100, 500, 1000)
MEMORY_MB = (128, 512)
MIB = 1024 * 1024

# The peer: a wall-clock duty cycle (busy for P% of every 100 ms of wall time), as simple load tools do.
WALL_BURNER = """
import sys, time
p, dur = float(sys.argv[1]) / 100, float(sys.argv[2])
end = time.monotonic() + dur
while time.monotonic() < end:
    t0 = time.monotonic()
    while time.monotonic() < t0 + 0.1 * p:
        pass
    time.sleep(max(0.0, t0 + 0.1 - time.monotonic()))
"""
SPINNER = "import time\nend = time.monotonic() + float(__import__('sys').argv[1])\nwhile time.monotonic() < end: pass\n"


PRIORITY = -10


def _popen(cmd: list[str]) -> subprocess.Popen[bytes]:
    # Measured and competing processes run at nice -10 so other jobs on a shared machine do not skew the
    # numbers; without the privilege they keep the default priority (the report says which).
    proc = subprocess.Popen(cmd)
    with contextlib.suppress(OSError):
        os.setpriority(os.PRIO_PROCESS, proc.pid, PRIORITY)
    return proc


def priority_allowed() -> bool:
    with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(0.2)"]) as probe:
        try:
            os.setpriority(os.PRIO_PROCESS, probe.pid, PRIORITY)
        except OSError:
            return False
    return True


def _cpu(procs: list[subprocess.Popen[bytes]]) -> float:
    total = 0.0
    for proc in procs:
        try:
            t = psutil.Process(proc.pid).cpu_times()
        except psutil.Error:
            continue
        total += t.user + t.system
    return total


def measure(cmd: list[str], cores: int, warmup: float, window: float) -> float:
    """Start `cores` copies of `cmd`, return their mean per-core utilisation (%) over `window` after `warmup`."""
    procs = [_popen(cmd) for _ in range(cores)]
    try:
        time.sleep(warmup)
        c0, t0 = _cpu(procs), time.monotonic()
        time.sleep(window)
        c1, t1 = _cpu(procs), time.monotonic()
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()
    return 100.0 * (c1 - c0) / ((t1 - t0) * cores)


def cpu_series(contention: bool, warmup: float, window: float) -> list[dict[str, float]]:
    cores = available_cores()
    total = warmup + window + 2
    rows = []
    competitors: list[subprocess.Popen[bytes]] = []
    if contention:
        competitors = [_popen([sys.executable, "-c", SPINNER, "3600"]) for _ in range(cores)]
    try:
        for target in TARGETS:
            ours = measure(
                [sys.executable, "-m", "loadgen.actions.cpu_worker", str(target), str(total)], cores, warmup, window
            )
            peer = measure([sys.executable, "-c", WALL_BURNER, str(target), str(total)], cores, warmup, window)
            ceiling = measure([sys.executable, "-c", SPINNER, str(total)], cores, warmup, window)
            rows.append({"target": target, "loadgen": ours, "wall_clock": peer, "ceiling": ceiling})
            print(
                f"cpu contention={contention} target={target}: loadgen {ours:.1f}%  wall-clock {peer:.1f}%  "
                f"spinner ceiling {ceiling:.1f}%"
            )
    finally:
        for proc in competitors:
            proc.kill()
            proc.wait()
    return rows


STOP_BODIES = {
    "cpu-stress": {"target_percent": 50, "duration_seconds": 60},
    "memory-leak": {"size_mb": 512, "duration_seconds": 60, "steps": 64},
    "disk-io": {"operations": 1_000_000, "file_size_kb": 1024},
    "traffic": {"requests_per_sec": 500, "duration_seconds": 60},
}


def stop_latency(api: httpx.Client) -> list[dict[str, Any]]:
    """Seconds from DELETE .../stop until the action reports it has stopped and released its resources."""
    rows = []
    for kind, body in STOP_BODIES.items():
        action_id = api.post(f"/api/actions/{kind}", json=body).json()["action_id"]
        time.sleep(1.5)
        t0 = time.monotonic()
        api.delete(f"/api/actions/{action_id}/stop")
        while api.get(f"/api/actions/{action_id}").json()["status"] == "running":
            time.sleep(0.01)
        rows.append({"kind": kind, "seconds": time.monotonic() - t0})
        print(f"stop {kind}: {rows[-1]['seconds']:.3f} s")
    return rows


def traffic_series(duration: float, tmp: Path) -> tuple[list[dict[str, float]], list[dict[str, Any]]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "loadgen.cli", "serve", "--port", "0", "--disk-dir", str(tmp)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={k: v for k, v in os.environ.items() if not k.startswith(("HERON_", "OTEL_"))},
    )
    assert proc.stdout is not None
    url = proc.stdout.readline().rsplit(" ", 1)[1].strip()
    rows = []
    try:
        with httpx.Client(base_url=url, timeout=10) as api:
            for _ in range(100):
                try:
                    if api.get("/api/health").status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.1)
            for rate in RATES:
                body = {"requests_per_sec": rate, "duration_seconds": duration, "concurrency": 64}
                action_id = api.post("/api/actions/traffic", json=body).json()["action_id"]
                while (status := api.get(f"/api/actions/{action_id}").json())["status"] == "running":
                    time.sleep(0.25)
                a = status["achieved"]
                rows.append(
                    {
                        "requested": rate,
                        "achieved": a["mean_rate"],
                        "ok": a["ok"],
                        "failed": a["failed"],
                        "dropped": a["dropped"],
                        "p50_ms": a["latency_p50_ms"],
                        "p95_ms": a["latency_p95_ms"],
                        # loadgen's percentiles cover its last RESERVOIR latencies of answered requests
                        "latency_n": min(a["ok"] + a["failed"], RESERVOIR),
                    }
                )
                print(
                    f"traffic {rate}/s: achieved {a['mean_rate']}/s, dropped {a['dropped']}, "
                    f"p95 {a['latency_p95_ms']} ms"
                )
            stops = stop_latency(api)
    finally:
        proc.terminate()
        proc.wait(10)
    return rows, stops


def memory_series(tmp: Path) -> list[dict[str, float]]:
    rows = []
    me = psutil.Process()
    for size in MEMORY_MB:
        action = MemoryLeak(
            MemoryLeakRequest(size_mb=size, duration_seconds=4, steps=4), ActionEnv(LoadgenConfig(disk_dir=tmp))
        )
        before = me.memory_info().rss
        stop = threading.Event()
        thread = threading.Thread(target=action.run, args=(stop,))
        thread.start()
        time.sleep(3)  # growth takes the first half (2 s); then it holds
        held = me.memory_info().rss - before
        stop.set()
        thread.join()
        after = me.memory_info().rss - before
        rows.append({"requested_mb": size, "rss_delta_mb": held / MIB, "after_release_mb": after / MIB})
        print(f"memory {size} MiB: RSS +{held / MIB:.1f} MiB held, +{after / MIB:.1f} MiB after release")
    return rows


def plot(
    idle: list[dict[str, float]],
    busy: list[dict[str, float]],
    traffic: list[dict[str, float]],
    memory: list[dict[str, float]],
) -> None:
    fig, axes = plt.subplots(2, 2, figsize=(11, 8))
    for ax, rows, title in (
        (axes[0][0], idle, "CPU, no competing load"),
        (axes[0][1], busy, "CPU beside a competing load"),
    ):
        t = [r["target"] for r in rows]
        ax.plot(t, t, "k:", label="target")
        ax.plot(t, [r["loadgen"] for r in rows], "o-", label="loadgen (thread CPU clock)")
        ax.plot(t, [r["wall_clock"] for r in rows], "s--", label="wall-clock duty cycle")
        ax.plot(t, [r["ceiling"] for r in rows], "x:", label="busy spinner (ceiling)")
        ax.set(title=title, xlabel="target %", ylabel="achieved % per core")
        ax.legend()
    ax = axes[1][0]
    req = [r["requested"] for r in traffic]
    ax.plot(req, req, "k:", label="requested")
    ax.plot(req, [r["achieved"] for r in traffic], "o-", label="achieved")
    ax.set(title="Traffic rate", xlabel="requested req/s", ylabel="achieved req/s")
    ax.legend()
    ax = axes[1][1]
    m = [r["requested_mb"] for r in memory]
    ax.plot(m, m, "k:", label="requested")
    ax.plot(m, [r["rss_delta_mb"] for r in memory], "o-", label="RSS growth")
    ax.set(title="Memory", xlabel="requested MiB", ylabel="MiB")
    ax.legend()
    fig.tight_layout()
    IMG.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(IMG, dpi=90)


def write_doc(
    idle: list[dict[str, float]],
    busy: list[dict[str, float]],
    traffic: list[dict[str, float]],
    memory: list[dict[str, float]],
    stops: list[dict[str, Any]],
    load: tuple[float, float, float],
    args: argparse.Namespace,
) -> None:
    lines = [
        "## Load generator precision",
        "",
        stamp(),
        "",
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}. "
        f"Load average at start: {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f} "
        "(a shared machine: other jobs ran at the same time, so numbers are noisy). "
        + (
            f"CPU workers, peers and competitors ran at nice {PRIORITY} to keep other jobs' load out of the "
            "CPU numbers."
            if args.priority
            else "CPU workers ran at default priority, so other jobs' load lowers the CPU numbers."
        ),
        "",
        f"Reproduce: `.venv/bin/python -m bench.bench_loadgen{' --long' if args.long else ''}` "
        f"(CPU window {args.window:g} s after {args.warmup:g} s warm-up per point; "
        f"traffic {args.traffic_seconds:g} s per rate).",
        "",
        "### CPU: achieved vs target (mean per-core utilisation of the workers, measured with psutil)",
        "",
        "Peer: a wall-clock duty cycle (busy for P% of every 100 ms of wall time), measured in the same run. "
        "The competing load is one busy-spinning process per core.",
        "",
        "The ceiling column is what a 100% busy-spinning process got per core in the same conditions, measured "
        "right after each point: no generator can exceed it, and on this shared virtual machine it is far "
        "below 100%. Read each row against its ceiling: where the target is below it, the achieved value "
        "should be the target; where it is above, every generator saturates at the ceiling. The +-3 point "
        "accuracy target assumes a ceiling near 100% (a machine with spare cores): rerun there with --long.",
        "",
        "| target % | loadgen, idle | wall-clock, idle | ceiling, idle | loadgen, contended "
        "| wall-clock, contended | ceiling, contended | contended ratio loadgen / wall-clock |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for i, b in zip(idle, busy, strict=True):
        ratio = b["loadgen"] / b["wall_clock"] if b["wall_clock"] else float("nan")
        lines.append(
            f"| {i['target']} | {i['loadgen']:.1f} | {i['wall_clock']:.1f} | {i['ceiling']:.1f} | {b['loadgen']:.1f} "
            f"| {b['wall_clock']:.1f} | {b['ceiling']:.1f} | {ratio:.2f} |"
        )
    lines += [
        "",
        "### Traffic: achieved vs requested rate (open model, loadgen's own `/api/demo/ok` behind waitress)",
        "",
        "| requested req/s | achieved req/s | achieved / requested | ok | failed | dropped | p50 ms | p95 ms |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in traffic:
        lines.append(
            f"| {r['requested']:.0f} | {r['achieved']:.0f} | {r['achieved'] / r['requested']:.2f} | {r['ok']:.0f} | "
            f"{r['failed']:.0f} | {r['dropped']:.0f} | {computed_pct(50, int(r['latency_n']), r['p50_ms'], '.1f')} | "
            f"{computed_pct(95, int(r['latency_n']), r['p95_ms'], '.1f')} |"
        )
    lines += [
        "",
        "### Memory: resident growth vs requested size",
        "",
        "| requested MiB | RSS growth while held, MiB | RSS above start after release, MiB |",
        "|---:|---:|---:|",
    ]
    for r in memory:
        lines.append(f"| {r['requested_mb']:.0f} | {r['rss_delta_mb']:.1f} | {r['after_release_mb']:.1f} |")
    lines += [
        "",
        "### Stop latency: DELETE /api/actions/{id}/stop until the action reports stopped (resources released)",
        "",
        "| action | seconds |",
        "|---|---:|",
    ]
    lines += [f"| {r['kind']} | {r['seconds']:.3f} |" for r in stops]
    lines += ["", "![loadgen precision](../img/bench_loadgen.png)", ""]
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text("\n".join(lines), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--long", action="store_true", help="longer windows for steadier numbers")
    args = parser.parse_args(argv)
    args.warmup, args.window, args.traffic_seconds = (2.0, 10.0, 15.0) if args.long else (1.0, 3.0, 5.0)
    load = os.getloadavg()
    args.priority = priority_allowed()
    tmp = Path(os.environ.get("TMPDIR", "/tmp"))
    idle = cpu_series(False, args.warmup, args.window)
    busy = cpu_series(True, args.warmup, args.window)
    traffic, stops = traffic_series(args.traffic_seconds, tmp)
    memory = memory_series(tmp)
    plot(idle, busy, traffic, memory)
    write_doc(idle, busy, traffic, memory, stops, load, args)
    print(f"wrote {DOC.relative_to(ROOT)} and {IMG.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
