"""Benchmark Heron's notification delivery: the duplicate window, crash recovery and a burst into a limited chat.

Run: .venv/bin/python -m bench.bench_delivery [--long]
Starts its own redis-server on a free port; the Telegram stand-in plays the remote API (429 with
`retry_after` past its per-chat limit, as Telegram answers).
Burst peer: Debian's prometheus-alertmanager, run as its documentation configures a Telegram receiver
(`telegram_configs` with `api_url` pointed at the stand-in) and with its default retry behaviour: its
notification pipeline retries a failed send itself, with exponential backoff, until the aggregation
group's next flush. Heron and Alertmanager face the same stand-in with the same per-chat limit, one after
the other, and Heron's Telegram destination keeps its default rate; the report states the limit and the
floor (messages / allowed rate).
Writes docs/benchmarks/delivery.md and docs/img/bench_delivery.png.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import matplotlib
import redis
import yaml

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from alert_worker.channels.config import resolve_destinations
from alert_worker.delivery import DeliveryPolicy, RedisOutbox, RedisRateLimiter
from alert_worker.delivery.queueing import queue_job
from alert_worker.delivery.wiring import build_service
from alert_worker.models import NotificationJob, job_to_dict
from bench._report import pct, peer_versions, stamp
from tests.fixtures.standins import TelegramStandIn
from tests.fixtures.standins.jobs import make_alert, make_job

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "benchmarks" / "delivery.md"
IMG = ROOT / "docs" / "img" / "bench_delivery.png"
TOKEN = "123456:TEST-token-abcdefghijklmnopqrstu"
CRASH_JOBS = 40
BURST = 40  # messages in the burst: enough for a p95
LIMIT_S = 1.0  # the stand-in accepts one message per chat per LIMIT_S (Telegram: about 1 message/s per chat)


def _key(text: str) -> str:
    match = re.search(r"\b([a-z]+\d*-\d{4})\b", text)
    return match.group(1) if match else ""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _redis() -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    proc = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    client = redis.Redis(port=port)
    for _ in range(100):
        try:
            client.ping()
            break
        except redis.ConnectionError:
            time.sleep(0.05)
    client.close()
    return proc, f"redis://127.0.0.1:{port}/0"


def _jobs(tag: str, dest: str, count: int):
    now = datetime.now(UTC)
    return [
        make_job(
            dest,
            key=f"{tag}-{i:04d}",
            created_at=now + timedelta(microseconds=i),
            alerts=(make_alert(summary=f"n {tag}-{i:04d}", starts_at=now),),
        )
        for i in range(count)
    ]


def _dest_file(tmp: Path, name: str, tg: TelegramStandIn, rate: float | None, chat: str = "-100") -> Path:
    """A Telegram destination; `rate` None keeps Heron's default rate for Telegram."""
    dest: dict[str, object] = {"type": "telegram", "token": TOKEN, "chat_id": chat, "api_url": tg.url}
    if rate is not None:
        dest["rate_per_second"] = rate
    path = tmp / f"{name}.yaml"
    path.write_text(yaml.safe_dump({"destinations": {name: dest}}))
    return path


def window(redis_url: str, tmp: Path, latency: float, count: int) -> list[float]:
    """Seconds between the remote accepting a message and the outbox recording it as sent."""
    client = redis.Redis.from_url(redis_url)
    with TelegramStandIn(latency=latency) as tg:
        name = f"win{int(latency * 1000)}"
        config = resolve_destinations(_dest_file(tmp, name, tg, 1000), environ={})
        service = build_service(config, client, policy=DeliveryPolicy(lease=10))
        jobs = _jobs(name, name, count)
        for job in jobs:
            service.deliver(job)
        service.close()
        accepted = {_key(a.text): a.at for a in tg.accepted}
    outbox = RedisOutbox(client)
    out = []
    for job in jobs:
        record = outbox.get(job.idempotency_key)
        at = accepted.get(job.idempotency_key)
        if record and record.sent_at and at is not None:
            out.append(record.sent_at - at)
    client.close()
    return out


def _enqueue(client: redis.Redis, queue: str, jobs: list[NotificationJob]) -> None:
    """Queue the way the alert engine does: each job takes its place in its destination's line first."""
    limiter = RedisRateLimiter(client)
    for job in jobs:
        queue_job(job, limiter, lambda j: client.rpush(queue, json.dumps(job_to_dict(j))))


def crash(redis_url: str, tmp: Path, count: int, latency: float) -> dict[str, float]:
    """Kill a worker process at random moments until all `count` notifications are sent; count repeats."""
    client = redis.Redis.from_url(redis_url)
    queue = f"heron:bench:{os.getpid()}:{latency}"
    proc_list = f"{queue}:processing:w"
    with TelegramStandIn(latency=latency) as tg:
        name = f"crash{int(latency * 1000)}"
        path = _dest_file(tmp, name, tg, 1000)
        jobs = _jobs(name, name, count)
        _enqueue(client, queue, jobs)
        env = {**{k: v for k, v in os.environ.items() if not k.startswith(("HERON_", "OTEL_"))}}
        env["HERON_ALERTS_DELIVERY_LEASE"] = "1"
        cmd = [
            sys.executable,
            "-m",
            "tests.integration.alert_worker.delivery.worker_loop",
            redis_url,
            queue,
            str(path),
            "w",
        ]
        outbox = RedisOutbox(client)
        kills, rng, started = 0, random.Random(11), time.monotonic()
        while True:
            ready = client.llen(f"{queue}:ready")
            proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            while client.llen(f"{queue}:ready") == ready:
                time.sleep(0.01)
            # Kill at a random moment while the worker is sending.
            deadline = time.monotonic() + rng.uniform(0.02, 0.4)
            done = False
            while time.monotonic() < deadline:
                done = all(outbox.state(j.idempotency_key) == "sent" for j in jobs)
                if done:
                    break
                time.sleep(0.005)
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            if done:
                break
            kills += 1
            while client.lmove(proc_list, queue, "RIGHT", "LEFT") is not None:
                pass
        elapsed = time.monotonic() - started
        counts = Counter(_key(a.text) for a in tg.accepted)
    records = [outbox.get(j.idempotency_key) for j in jobs]
    recovered = sum(r.recovered for r in records if r is not None)
    client.close()
    keys = [j.idempotency_key for j in jobs]
    dup = sum(1 for k in keys if counts.get(k, 0) > 1)
    lost = sum(1 for k in keys if counts.get(k, 0) == 0)
    return {"kills": kills, "duplicates": dup, "lost": lost, "recovered": recovered, "seconds": elapsed}


def burst_heron(redis_url: str, tmp: Path, tg: TelegramStandIn, count: int) -> dict[str, object]:
    """Three worker processes sharing Heron's Redis token bucket, destination at its default Telegram rate."""
    queue = f"heron:bench:rate:{os.getpid()}"
    client = redis.Redis.from_url(redis_url)
    chat = "-100001"
    name = "ratechat"
    path = _dest_file(tmp, name, tg, None, chat)
    cmd = [sys.executable, "-m", "tests.integration.alert_worker.delivery.worker_loop", redis_url, queue, str(path)]
    procs = [
        subprocess.Popen([*cmd, f"r{i}"], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for i in range(3)
    ]
    while client.llen(f"{queue}:ready") < 3:
        time.sleep(0.05)
    requests0, refused0 = tg.requests, tg.rate_violations
    jobs = _jobs("rate", name, count)
    start = time.time()
    _enqueue(client, queue, jobs)
    while sum(a.target == chat for a in tg.accepted) < count and time.time() - start < 20 * count * LIMIT_S:
        time.sleep(0.05)
    for proc in procs:
        proc.terminate()
        proc.wait()
    mine = [a for a in tg.accepted if a.target == chat]
    client.close()
    return {
        "delivered": len(mine),
        "requests": tg.requests - requests0,
        "refused": tg.rate_violations - refused0,
        "in_order": [_key(a.text) for a in mine] == [j.idempotency_key for j in jobs],
        "seconds": mine[-1].at - start if mine else 0.0,
        "times": [a.at - start for a in mine],
    }


ALERTMANAGER = """
route:
  receiver: tg
  group_by: [alertname, key]
  group_wait: 0s
  group_interval: 5m
  repeat_interval: 4h
receivers:
  - name: tg
    telegram_configs:
      - api_url: {url}
        bot_token: "{token}"
        chat_id: {chat}
        send_resolved: true
"""


def burst_alertmanager(tmp: Path, tg: TelegramStandIn, count: int) -> dict[str, object]:
    """The peer: `count` alerts posted at once to Alertmanager, one aggregation group (one message) each."""
    binary = shutil.which("prometheus-alertmanager")
    if binary is None:
        raise FileNotFoundError("prometheus-alertmanager is not on PATH; scripts/ensure-debian-packages.sh installs it")
    chat = "-100002"
    port = _free_port()
    config = tmp / "alertmanager.yml"
    config.write_text(ALERTMANAGER.format(url=tg.url, token=TOKEN, chat=chat))
    log = (tmp / "alertmanager.log").open("w")
    proc = subprocess.Popen(
        [
            binary,
            f"--config.file={config}",
            f"--storage.path={tmp / 'alertmanager'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",  # a single instance: no gossip, no peer wait before sending
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{url}/-/ready", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        now = datetime.now(UTC)
        alerts = [
            {
                "labels": {"alertname": "BenchBurst", "key": f"amb-{i:04d}"},
                "annotations": {"summary": f"n amb-{i:04d}"},
                "startsAt": (now + timedelta(microseconds=i)).isoformat(),
            }
            for i in range(count)
        ]
        requests0, refused0 = tg.requests, tg.rate_violations
        start = time.time()
        httpx.post(f"{url}/api/v2/alerts", json=alerts, timeout=10).raise_for_status()
        # Alertmanager keeps retrying until the group's next flush (group_interval 5 m): wait that long at most.
        while sum(a.target == chat for a in tg.accepted) < count and time.time() - start < 310:
            time.sleep(0.1)
        mine = [a for a in tg.accepted if a.target == chat]
        order = [_key(a.text) for a in mine]
        return {
            "delivered": len(mine),
            "requests": tg.requests - requests0,
            "refused": tg.rate_violations - refused0,
            "in_order": order == sorted(order),
            "seconds": mine[-1].at - start if mine else 0.0,
            "times": [a.at - start for a in mine],
        }
    finally:
        proc.terminate()
        proc.wait()
        log.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--long", action="store_true", help="more messages and kills (several minutes)")
    args = parser.parse_args(argv)
    scale = 3 if args.long else 1
    versions = peer_versions("alertmanager", "redis")
    redis_proc, url = _redis()
    try:
        with tempfile.TemporaryDirectory() as tmpdir:
            tmp = Path(tmpdir)
            windows = {lat: window(url, tmp, lat, 100 * scale) for lat in (0.0, 0.05)}
            crashes = {lat: crash(url, tmp, CRASH_JOBS * scale, lat) for lat in (0.0, 0.05)}
            with TelegramStandIn(min_interval=LIMIT_S) as tg:
                heron = burst_heron(url, tmp, tg, BURST)
                peer = burst_alertmanager(tmp, tg, BURST)
    finally:
        redis_proc.terminate()
        redis_proc.wait()
    write_report(windows, crashes, heron, peer, scale, versions)
    return 0


def _burst_row(label: str, res: dict[str, object]) -> str:
    times = res["times"]
    assert isinstance(times, list)
    return (
        f"| {label} | {res['delivered']}/{BURST} | {res['requests']} | {res['refused']} | {res['in_order']} "
        f"| {pct(times, 50).format('.1f', ' s')} | {pct(times, 95).format('.1f', ' s')} | {res['seconds']:.1f} s |"
    )


def write_report(windows, crashes, heron, peer, scale, versions) -> None:
    floor = BURST * LIMIT_S
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    for lat, vals in windows.items():
        ax1.hist([v * 1000 for v in vals], bins=40, alpha=0.6, label=f"remote latency {lat * 1000:.0f} ms")
    ax1.set_xlabel("remote accepted -> outbox 'sent' (ms)")
    ax1.set_ylabel("messages")
    ax1.set_title("Residual duplicate window")
    ax1.legend()
    for label, res in (("Heron (3 workers, default rate)", heron), (f"Alertmanager {versions['alertmanager']}", peer)):
        times = res["times"]
        ax2.plot(times, range(1, len(times) + 1), marker=".", label=f"{label}: {res['delivered']}/{BURST}")
    ax2.plot([0, floor], [0, BURST], "r--", label=f"floor: {BURST} / ({1 / LIMIT_S:g} per s)")
    ax2.set_xlabel("seconds since burst")
    ax2.set_ylabel("messages accepted by the chat")
    ax2.set_title(f"Burst of {BURST} to one chat (limit {1 / LIMIT_S:g} message/s)")
    ax2.legend(fontsize=8)
    fig.tight_layout()
    IMG.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(IMG, dpi=100)
    lines = [
        "## Notification delivery",
        "",
        stamp(),
        "",
        f"redis-server {versions['redis']} on loopback; the machine is shared with other jobs, so numbers are "
        f"noisy. Reproduce: `.venv/bin/python -m bench.bench_delivery{' --long' if scale > 1 else ''}`.",
        "",
        "### Residual duplicate window",
        "",
        "The outbox makes a second send impossible once a send is recorded. The window left is the time between "
        "the remote committing a message and the outbox recording it; a worker killed inside it sends that "
        "message again after its lease expires (at-least-once there, never a loss).",
        "",
        "| remote latency | messages | median | tail | max |",
        "|---|---|---|---|---|",
    ]
    for lat, vals in windows.items():
        ms = [v * 1000 for v in vals]
        lines.append(
            f"| {lat * 1000:.0f} ms | {len(vals)} | {pct(ms, 50).format(unit=' ms')} | "
            f"{pct(ms, 99).format(unit=' ms')} | {max(ms):.2f} ms |"
        )
    lines += [
        "",
        "### Random SIGKILLs of the worker",
        "",
        "One worker process, SIGKILLed at a random moment 20 to 400 ms after it is ready (while it sends) and "
        "restarted until every notification was recorded as sent; the broker's redelivery of the killed "
        "worker's job is simulated by re-queueing it. The worker sends back to back (nothing to wait for), "
        "so a kill often lands in the window above: a repeat there is the price of never losing a message, "
        "and the window, not the count of repeats, is what Heron keeps small.",
        "",
        "| remote latency | notifications | kills | lost | sent twice | sends taken over after a lease |",
        "|---|---|---|---|---|---|",
    ]
    for lat, res in crashes.items():
        lines.append(
            f"| {lat * 1000:.0f} ms | {CRASH_JOBS * scale} | {res['kills']:.0f} | {res['lost']:.0f} | "
            f"{res['duplicates']:.0f} | {res['recovered']:.0f} |"
        )
    lines += [
        "",
        f"### Burst of {BURST} to one Telegram chat",
        "",
        f"Both senders face the same Telegram stand-in with the same limit: it accepts **one message per chat every "
        f"{LIMIT_S:g} s** and refuses anything closer with 429 and `retry_after`, as Telegram does past its "
        f"per-chat limit. The floor for {BURST} messages is therefore {BURST} / {1 / LIMIT_S:g} per s = "
        f"**{floor:.0f} s**, whoever sends them. Each side has its own chat, one after the other.",
        "",
        "- Heron: three delivery worker processes sharing the Redis token bucket; the Telegram destination keeps "
        "its default rate (`rate_per_second` unset) and a 429 pauses the destination for `retry_after`.",
        f"- Peer: Debian's Alertmanager {versions['alertmanager']} (single instance), {BURST} alerts posted at once "
        "to its API, `group_by: [alertname, key]` (one message per alert), `group_wait: 0s`, its documented "
        "`telegram_configs` receiver pointed at the stand-in with `api_url`, and its default retry behaviour: the "
        "notification pipeline retries a failed send with exponential backoff until the group's next flush "
        "(`group_interval` 5 m).",
        "",
        "| sender | delivered | requests | refused (429) | in order | median | tail | last message after |",
        "|---|---|---|---|---|---|---|---|",
        _burst_row("Heron", heron),
        _burst_row(f"Alertmanager {versions['alertmanager']}", peer),
        "",
        f"Time to the last message: Heron {heron['seconds']:.1f} s ({heron['seconds'] / floor:.2f}x the floor), "
        f"Alertmanager {peer['seconds']:.1f} s ({peer['seconds'] / floor:.2f}x the floor). Median and tail are "
        "per message, from the burst to the chat accepting it.",
        "",
        "![delivery benchmark](../img/bench_delivery.png)",
        "",
    ]
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    raise SystemExit(main())
