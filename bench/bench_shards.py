"""Benchmark failover times of sharded evaluation and of beat against their documented bounds (docs/sharding.md).

Run: .venv/bin/python -m bench.bench_shards [--trials 5]
Heron's real `alert-worker worker --role evaluate --shards 3 --shard I` workers and two `alert-worker beat`
processes on redis-server and Prometheus as `heron up` runs them. Each trial SIGKILLs one worker (the owner of
a probe group) or the active beat and measures, in seconds:

- handover: from the kill to the owner's group being evaluated again, by a survivor (slot saved in Redis);
- takeover: from the beat's kill to the standby holding the RedBeat lock (its token in Redis), and to the
  first evaluation the standby scheduled.

The killed process is restarted (a supervisor would) and has rejoined before the next trial. The integration
tests assert the behaviour (no slot evaluated twice, none skipped beyond the bound); the seconds are here.
Writes docs/benchmarks/shards.md.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import redis
import yaml

from alert_worker.shard_members import ShardMembers
from alert_worker.sharding import owner
from alert_worker.state.base import parse_marker
from bench._report import MIN_TAIL_TRIALS, pct, peer_versions, stamp
from bench._stack import BenchStack, clean_env, until
from tests.fixtures.alerting import start_alert_worker, stop_process_group

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "benchmarks" / "shards.md"
SHARDS = 3
GROUPS = 6
INTERVAL = 2
SHARD_TTL = 3
BEAT_LOCK = 4
LOCK_KEY = "heron:alerts:redbeat::lock"
#: docs/sharding.md: TTL + one interval + up to a second of beat's cached view of the live shards.
HANDOVER_BOUND = SHARD_TTL + INTERVAL + 1
#: docs/sharding.md: lock timeout + a third of it; the first evaluation follows at once.
TAKEOVER_BOUND = BEAT_LOCK + BEAT_LOCK / 3


def _slot(client: redis.Redis, group: str) -> float:
    raw = client.get(f"heron:alerts:slot:{group}")
    slot = parse_marker(raw)[0] if raw is not None else None
    return -1.0 if slot is None else slot


class Scenario:
    """Three shard workers and two beats, started from `work`; `kill`/`start` by name."""

    def __init__(self, work: Path, redis_url: str, prometheus_url: str) -> None:
        uid = uuid.uuid4().hex[:8]
        self.work, self.groups = work, [f"bench-shards-{uid}-g{i}" for i in range(GROUPS)]
        rules = work / "shards.rules.yml"
        groups = [
            {"name": g, "interval": f"{INTERVAL}s", "rules": [{"alert": "Never", "expr": "vector(0) > 1"}]}
            for g in self.groups
        ]
        rules.write_text(yaml.safe_dump({"groups": groups}))
        self.queue = f"alerts-{uid}"
        self.env = {
            **clean_env(),
            "HERON_ALERTS_PROMETHEUS_URL": prometheus_url,
            "HERON_ALERTS_REDIS_URL": redis_url,
            "HERON_ALERTS_RULE_FILES": str(rules),
            "HERON_ALERTS_EVAL_QUEUE": self.queue,
            "HERON_ALERTS_NOTIFY_QUEUE": f"notify-{uid}",
            "HERON_ALERTS_SHARD_TTL": f"{SHARD_TTL}s",
            "HERON_ALERTS_BEAT_LOCK_TIMEOUT": f"{BEAT_LOCK}s",
            "OTEL_SDK_DISABLED": "true",
        }
        self.client = redis.Redis.from_url(redis_url)
        self.members = ShardMembers(self.client, self.queue, SHARD_TTL)
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.starts = 0

    def start(self, name: str) -> None:
        if name.startswith("shard"):
            args = ["worker", "--role", "evaluate", "--shards", str(SHARDS), "--shard", name[5:], "--concurrency", "2"]
        else:
            args = ["beat"]
        self.starts += 1
        self.procs[name] = start_alert_worker(args, self.env, self.work / f"{name}-{self.starts}.log")

    def kill(self, name: str) -> None:
        os.killpg(self.procs[name].pid, signal.SIGKILL)
        self.procs[name].wait()

    def active_beat(self) -> str:
        """The beat holding the lock: the one whose latest log says it acquired it, of those alive."""
        for name in ("beat0", "beat1"):
            log = max(self.work.glob(f"{name}-*.log"), key=lambda p: int(p.stem.split("-")[1]))
            if self.procs[name].poll() is None and "Acquired lock" in log.read_text(errors="replace"):
                return name
        raise RuntimeError("no beat holds the lock")

    def close(self) -> None:
        for proc in self.procs.values():
            stop_process_group(proc)
        self.client.close()


def handover(s: Scenario, trial: int) -> float:
    group = s.groups[trial % GROUPS]
    shard = owner(group, range(SHARDS))
    assert shard is not None
    name = f"shard{shard}"
    s.kill(name)
    killed = time.time()
    # A slot that began after the kill: the dead worker cannot have evaluated it.
    until(lambda: _slot(s.client, group) > killed, 120, f"{group} on a survivor", 0.05)
    took = time.time() - killed
    s.start(name)
    until(lambda: len(s.members.live()) == SHARDS, 120, "the restarted shard to join")
    return took


def takeover(s: Scenario) -> tuple[float, float]:
    name = s.active_beat()
    token = s.client.get(LOCK_KEY)
    s.kill(name)
    killed = time.time()
    until(lambda: s.client.get(LOCK_KEY) not in (None, token), 120, "the standby's lock", 0.05)
    locked = time.time() - killed
    resumed = time.time()
    until(lambda: any(_slot(s.client, g) >= resumed // INTERVAL * INTERVAL for g in s.groups), 120, "a run", 0.05)
    first = time.time() - killed
    s.start(name)  # back as the standby
    until(lambda: "Starting" in (s.work / f"{name}-{s.starts}.log").read_text(errors="replace"), 120, "standby")
    return locked, first


def write_report(handovers: list[float], takeovers: list[tuple[float, float]], versions: dict[str, str]) -> None:
    locks = [t[0] for t in takeovers]
    firsts = [t[1] for t in takeovers]

    def row(what: str, values: list[float], bound: float) -> str:
        # With fewer trials than a percentile needs, every trial is listed and the tail is their maximum.
        p50, tail = pct(values, 50), pct(values, 95)
        typical = ", ".join(f"{v:.1f}" for v in sorted(values)) + " s" if p50.is_max else p50.format(".1f", " s")
        return f"| {what} | {typical} | {tail.format('.1f', ' s')} | {bound:.1f} s | {tail.value / bound:.2f} |"

    few = min(len(handovers), len(takeovers)) < MIN_TAIL_TRIALS
    few_text = (
        f"With fewer than {MIN_TAIL_TRIALS} trials no percentile is named: every trial is listed, the tail is their"
        " maximum."
        if few
        else ""
    )

    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text(
        f"""## Shard handover and beat takeover

{stamp()}

{SHARDS} `alert-worker worker --role evaluate --shards {SHARDS}` workers (concurrency 2), two `alert-worker beat`
processes (one active, one standby), redis-server {versions["redis"]}, {GROUPS} groups every {INTERVAL} s, member
TTL {SHARD_TTL} s, beat lock timeout {BEAT_LOCK} s. Each trial SIGKILLs one process and restarts it once the
measure is taken; the ratio compares the tail with the bound docs/sharding.md documents for these settings.
{few_text}

| after SIGKILL of | {"trials" if few else "median"} | tail | documented bound | tail / bound |
|---|---|---|---|---|
{row("a group's owner: the group evaluated by a survivor", handovers, HANDOVER_BOUND)}
{row("the active beat: the standby holds the lock", locks, TAKEOVER_BOUND)}
{row("the active beat: the standby's first evaluation ran", firsts, TAKEOVER_BOUND + INTERVAL)}

Handover: from the kill to a survivor's saved evaluation of a slot that began after the kill; the bound is
TTL + one interval + 1 s (beat's cached view of the live shards). Takeover: from the kill to the standby's
own lock token in Redis (bound: lock timeout + a third of it), and to the first evaluation saved after that;
that bound adds one interval for the evaluation to be picked up and run. The integration tests
(`tests/integration/alert_worker/test_shards.py`, `test_single_beat.py`) assert the behaviour in evaluation
slots: no slot evaluated or scheduled twice, none skipped beyond these bounds.

Reproduce: `.venv/bin/python -m bench.bench_shards --trials {len(handovers)}`.
""",
        encoding="utf-8",
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=5, help="kills of each kind (default 5)")
    args = parser.parse_args(argv)
    versions = peer_versions("redis")
    handovers: list[float] = []
    takeovers: list[tuple[float, float]] = []
    with (
        BenchStack(["redis", "prometheus"], prefix="heron-bench-shards-") as stack,
        tempfile.TemporaryDirectory() as tmp,
    ):
        scenario = Scenario(Path(tmp), f"redis://{stack.config.addr('redis')}/0", stack.prometheus_url)
        try:
            for name in [*(f"shard{i}" for i in range(SHARDS)), "beat0", "beat1"]:
                scenario.start(name)
            until(lambda: len(scenario.members.live()) == SHARDS, 120, "three live shards")
            until(lambda: all(_slot(scenario.client, g) > 0 for g in scenario.groups), 120, "every group evaluated")
            for trial in range(args.trials):
                handovers.append(handover(scenario, trial))
                print(f"handover {trial + 1}: {handovers[-1]:.2f} s", flush=True)
            for trial in range(args.trials):
                takeovers.append(takeover(scenario))
                print(f"takeover {trial + 1}: lock {takeovers[-1][0]:.2f} s, first run {takeovers[-1][1]:.2f} s")
        finally:
            scenario.close()
    write_report(handovers, takeovers, versions)
    print(f"wrote {DOC.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
