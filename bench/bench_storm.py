"""Benchmark an alert storm: 60 alerts at once into a Telegram chat that takes 1 message/s, while a group flaps.

Run: .venv/bin/python -m bench.bench_storm [--stay 30 --gone 30]
Runs the scenario of tests/fixtures/storm.py (shared with tests/integration/alert_worker/test_alert_storm.py):
Heron's real `alert-worker worker --role evaluate` and `--role deliver` pools and beat, a private Redis and
Prometheus, and the Telegram stand-in (429 with retry_after past 1 message/s per chat).
Writes docs/benchmarks/storm.md and docs/img/bench_storm.png.
"""

from __future__ import annotations

import argparse
import itertools
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from bench._report import pct, peer_versions, stamp
from bench._stack import BenchStack
from tests.fixtures.storm import StormResult, message_kind, run_storm

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "benchmarks" / "storm.md"
IMG = ROOT / "docs" / "img" / "bench_storm.png"


def summarise(result: StormResult) -> dict[str, float]:
    firing_at = [float(t["at"]) for t in result.transitions if t.get("to_state") == "firing"]
    storm_start = min(firing_at) if firing_at else result.window_start
    messages = len(result.accepted)
    last = max((m.at for m in result.accepted), default=storm_start)
    first_wave = [m for m in result.accepted if message_kind(m.text) == "firing"]
    return {
        "storm_start": storm_start,
        "messages": messages,
        "firing_messages": len(first_wave),
        "drain_s": last - storm_start,
        "floor_s": messages * result.min_interval_s,
        "firing_drain_s": max((m.at for m in first_wave), default=storm_start) - storm_start,
        "firing_floor_s": len(first_wave) * result.min_interval_s,
    }


def plot(result: StormResult, summary: dict[str, float]) -> None:
    start = summary["storm_start"]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    times = sorted(m.at - start for m in result.accepted)
    ax1.step(times, range(1, len(times) + 1), where="post", label="messages accepted by the chat")
    ax1.plot([0, len(times) * result.min_interval_s], [0, len(times)], "r--", label="floor: 1 message per second")
    ax1.axvline(result.gone_at - start, color="grey", linestyle=":", label="half the storm is over")
    ax1.set_xlabel("seconds since the storm fired")
    ax1.set_ylabel("messages")
    ax1.set_title("Backlog drain")
    ax1.legend(fontsize=8)
    slots = sorted(s - start for s in result.slots)
    ax2.plot(slots[1:], [b - a for a, b in itertools.pairwise(slots)], ".", label="flap group")
    ax2.axhline(result.flap_interval_s, color="red", linestyle="--", label="interval")
    ax2.set_xlabel("seconds since the storm fired")
    ax2.set_ylabel("seconds between evaluated slots")
    ax2.set_title("Flapping group's evaluations during the drain")
    ax2.legend(fontsize=8)
    fig.tight_layout()
    IMG.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(IMG, dpi=100)
    plt.close(fig)


def write_report(result: StormResult, summary: dict[str, float], versions: dict[str, str], argv: str) -> None:
    hit, expected = result.flap_slots()
    latencies = result.latencies()
    p50, p95 = pct(latencies, 50), pct(latencies, 95)
    wrong = result.wrong_final()
    alerts = len(result.stay) + len(result.gone)
    rate = 1 / result.min_interval_s
    named = f" ({', '.join(wrong)})" if wrong else ""
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text(
        f"""## Alert storm on a rate-limited chat

{stamp()}

{alerts} alerts fire at once (one rule, `group_by: [alertname, storm_id]`, so one notification each) into the
Telegram stand-in, which accepts **{rate:g} message/s** per chat and answers 429 with `retry_after` past that, as
Telegram does; Heron's Telegram destination keeps its default rate (1/s). {len(result.gone)} of the alerts are
over {result.gone_at - result.window_start:.0f} s after the first message, while most of their firing notices
still wait. Meanwhile a second group flaps (`vector(time()) % 4 < 2`, evaluated every {result.flap_interval_s} s,
notifying the console). Everything runs as `heron up` runs it: Debian's Prometheus {versions["prometheus"]}
scraping the storm's series every second, redis-server {versions["redis"]}, `alert-worker beat`,
`alert-worker worker --role evaluate` (concurrency 2) and `alert-worker worker --role deliver` (concurrency 4).
The scenario is `tests/fixtures/storm.py`, shared with the integration test that asserts on it.

| measure | result |
|---|---|
| flapping group: slots evaluated / expected while the backlog drained | {hit} / {expected} |
| messages the chat accepted | {summary["messages"]:.0f} ({summary["firing_messages"]:.0f} firing notices) |
| drain of the whole backlog (first firing transition -> last message) | {summary["drain_s"]:.1f} s |
| floor for that: {summary["messages"]:.0f} messages / {rate:g} per s | {summary["floor_s"]:.0f} s |
| firing notices drained after | {summary["firing_drain_s"]:.1f} s (floor {summary["firing_floor_s"]:.0f} s) |
| refused by the chat (429) | {result.rate_violations} |
| delivery latency, transition -> chat, median | {p50.format(".1f", " s")} |
| delivery latency, transition -> chat, tail | {p95.format(".1f", " s")} |
| alerts whose last message disagrees with their final state | {len(wrong)} of {alerts}{named} |

The slot count comes from the flapping group's last evaluated slot in Redis, read every 0.2 s from the first
message until every alert's final state was in the chat ({result.window_end - result.window_start:.0f} s, 1 s
margins); "expected" is every {result.flap_interval_s} s slot in that window. Latency is per message, from the
engine's transition (its history in Redis) to the stand-in accepting the message, so it includes the wait
in the backlog; with one message per second the backlog sets it. An alert that was over before its firing
notice left gets one collapsed message ("fired ... and resolved") instead of two.

Drain vs floor: Heron's default Telegram rate (1/s) equals the chat's limit, so a send that leaves a little
less than a second after the previous one (scheduling jitter across the delivery pool) is refused; each 429
pauses the destination for `retry_after` (whole seconds), which is the gap between the drain and the floor
in this run ({result.rate_violations} refusals).

![alert storm](../img/bench_storm.png)

Reproduce: `.venv/bin/python -m bench.bench_storm{argv}`.
""",
        encoding="utf-8",
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stay", type=int, default=30, help="alerts that stay firing (default 30)")
    parser.add_argument("--gone", type=int, default=30, help="alerts that are over during the drain (default 30)")
    args = parser.parse_args(argv)
    versions = peer_versions("prometheus", "redis")
    with BenchStack(["redis"], prefix="heron-bench-storm-") as stack, tempfile.TemporaryDirectory() as tmp:
        result = run_storm(
            Path(tmp),
            f"redis://{stack.config.addr('redis')}/0",
            stay=args.stay,
            gone=args.gone,
            drain_timeout_s=args.stay + 2 * args.gone + 180,
        )
    summary = summarise(result)
    print(summary, result.flap_slots(), result.wrong_final())
    plot(result, summary)
    extra = "" if (args.stay, args.gone) == (30, 30) else f" --stay {args.stay} --gone {args.gone}"
    write_report(result, summary, versions, extra)
    print(f"wrote {DOC.relative_to(ROOT)} and {IMG.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
