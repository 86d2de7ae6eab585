"""Sharded evaluation on real Celery workers and real Redis: three evaluation workers (`--shards 3 --shard I`),
two delivery workers, an active and a standby beat. A group's owner is SIGKILLed mid-evaluation (its
Prometheus query held), a delivery worker mid-send (its Telegram request held), twice each, then the
active beat.

Checked: while all shards live every group is evaluated by exactly one worker; a dead worker's group is
evaluated by a survivor within the member TTL plus one interval; the standby beat takes over within the
beat lock timeout plus one interval; every transition happened exactly once (none lost, none doubled)
and every notification reached the chat exactly once.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import threading
import time
import uuid
from collections import Counter, defaultdict
from pathlib import Path

import psutil
import pytest
import redis
import yaml

from alert_worker.delivery import RedisOutbox
from alert_worker.shard_members import ShardMembers
from tests.fixtures.alerting import ALERT_WORKER, QueryProxy, start_alert_worker, stop_process_group
from tests.fixtures.stack import clean_env
from tests.fixtures.standins import TelegramStandIn
from tests.helpers import wait_for

pytestmark = pytest.mark.integration

SHARDS = 3
GROUPS = 6
INTERVAL = 2  # seconds, every group
PERIOD = 30  # each probe fires during the first half of every 30 s period: a transition every 15 s
SHARD_TTL = 3
BEAT_LOCK = 4
# Behaviour bounds (docs/sharding.md): a dead worker's groups are evaluated elsewhere within its member TTL
# plus one interval plus beat's once-a-second look at the live shards; a standby beat holds the lock within
# the lock timeout plus a third of it. Two more seconds cover evaluating and picking up on a busy machine.
HANDOVER_BOUND = SHARD_TTL + INTERVAL + 1 + 2
TAKEOVER_BOUND = BEAT_LOCK + BEAT_LOCK / 3 + 2  # the standby holds the lock
FAILOVER_BOUND = TAKEOVER_BOUND + INTERVAL + 1  # ... and its first evaluations ran
TOKEN = "123456:SHARD-token-abcdefghijklmnopqrstu"
CHAT = "-100777"
HISTORY_KEY = "heron:alerts:history"


def _rules(uid: str) -> str:
    groups = [
        {
            "name": f"shard-{uid}-g{i}",
            "interval": f"{INTERVAL}s",
            "rules": [
                {
                    "alert": "ShardProbe",
                    "expr": f'label_replace(vector(time()) % {PERIOD} < {PERIOD // 2}, "host_name", "g{i}", "", "")',
                    "annotations": {"summary": "probe {{ $labels.host_name }}", "heron_no_data": "resolve"},
                }
            ],
        }
        for i in range(GROUPS)
    ]
    return yaml.safe_dump({"groups": groups})


class Fleet:
    """The workers, as deployed: evaluation shards `shard0`..`shard2` and delivery workers `deliver0`,
    `deliver1` (a separate pool, so a delivery waiting for its chat never holds up an evaluation). Each
    runs in its own session so a kill takes its pool with it."""

    def __init__(self, env: dict[str, str], log_dir: Path) -> None:
        self.env, self.log_dir = env, log_dir
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.started: list[subprocess.Popen[bytes]] = []
        self.starts = itertools.count()
        #: Held by a test's kill decision: one kill per armed event, however many requests are held at once.
        self.lock = threading.Lock()

    def start(self, name: str) -> None:
        if name.startswith("shard"):
            args = ["worker", "--role", "evaluate", "--shards", str(SHARDS), "--shard", name[5:], "--concurrency", "2"]
        else:
            args = ["worker", "--role", "deliver", "--concurrency", "2"]
        self.procs[name] = start_alert_worker(args, self.env, self.log_dir / f"{name}-{next(self.starts)}.log")
        self.started.append(self.procs[name])

    def kill(self, name: str) -> None:
        os.killpg(self.procs[name].pid, signal.SIGKILL)
        self.procs[name].wait()

    def worker_with(self, *, local: int) -> str | None:
        """The worker whose main process or pool child has a TCP connection from port `local`."""
        for name, proc in list(self.procs.items()):
            if proc.poll() is not None:
                continue
            try:
                family = [psutil.Process(proc.pid), *psutil.Process(proc.pid).children(recursive=True)]
                conns = [c for p in family for c in p.net_connections("tcp")]
            except psutil.NoSuchProcess:
                continue
            if any(c.laddr and c.laddr.port == local for c in conns):
                return name
        return None

    def stop(self) -> None:
        for proc in self.started:
            stop_process_group(proc)


def _slot(client: redis.Redis, group: str) -> float:
    raw = client.get(f"heron:alerts:slot:{group}")
    return float(raw) if raw is not None else -1.0


def test_sharded_workers_hand_over_and_lose_or_double_nothing(stack, tmp_path):
    uid = uuid.uuid4().hex[:8]
    groups = [f"shard-{uid}-g{i}" for i in range(GROUPS)]
    redis_url = stack.redis_url.rsplit("/", 1)[0] + "/14"
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    rules = tmp_path / "shards.rules.yml"
    rules.write_text(_rules(uid))
    routing = tmp_path / "routing.yaml"
    routing.write_text(
        'route:\n  receivers: ["tg"]\n  group_by: [alertname, host_name]\n  group_wait: 0s\n'
        "  group_interval: 0s\n  cooldown: 0s\n  repeat_interval: 4h\n  send_resolved: true\n"
    )
    proxy = QueryProxy(stack.prometheus_url)
    eval_queue = f"alerts-{uid}"
    members = ShardMembers(client, eval_queue, SHARD_TTL)
    with TelegramStandIn(tokens={TOKEN}, chats={CHAT}, hold=0.3) as tg:
        dest = {"type": "telegram", "token": TOKEN, "chat_id": CHAT, "api_url": tg.url, "rate_per_second": 50}
        (tmp_path / "destinations.yaml").write_text(yaml.safe_dump({"destinations": {"tg": dest}}))
        env = clean_env(
            {
                "HERON_ALERTS_PROMETHEUS_URL": proxy.url,
                "HERON_ALERTS_REDIS_URL": redis_url,
                "HERON_ALERTS_RULE_FILES": str(rules),
                "HERON_ALERTS_ROUTING_FILE": str(routing),
                "HERON_ALERTS_DESTINATIONS_FILE": str(tmp_path / "destinations.yaml"),
                "HERON_ALERTS_EVAL_QUEUE": eval_queue,
                "HERON_ALERTS_NOTIFY_QUEUE": f"notify-{uid}",
                "HERON_ALERTS_SHARD_TTL": f"{SHARD_TTL}s",
                "HERON_ALERTS_BEAT_LOCK_TIMEOUT": f"{BEAT_LOCK}s",
                "HERON_ALERTS_VISIBILITY_TIMEOUT": "10s",
                "HERON_ALERTS_DELIVERY_LEASE": "2",
                "HERON_ALERTS_FLAP_THRESHOLD": "1000000",  # the probes flip on purpose
                "OTEL_SDK_DISABLED": "true",
            }
        )
        fleet = Fleet(env, tmp_path)
        evaluated_by: dict[str, set[str]] = defaultdict(set)
        watching = threading.Event()
        eval_kills: list[tuple[float, str, str]] = []  # (when, group, shard worker)
        send_kills: list[tuple[float, str]] = []
        arm_eval, arm_send = threading.Event(), threading.Event()

        by_label = {f'"g{i}"': group for i, group in enumerate(groups)}

        def on_query(query: str, port: int) -> bool:
            group = next((g for label, g in by_label.items() if label in query), None)
            shard = fleet.worker_with(local=port) if watching.is_set() or arm_eval.is_set() else None
            if group is None or shard is None:
                return False
            if watching.is_set():
                evaluated_by[group].add(shard)
            with fleet.lock:
                if not arm_eval.is_set():
                    return False
                arm_eval.clear()  # this query is held: the worker dies mid-evaluation
                fleet.kill(shard)
                eval_kills.append((time.time(), group, shard))
                return True

        def on_send() -> None:
            with fleet.lock:
                sender = fleet.worker_with(local=tg.holding_port) if arm_send.is_set() else None
                if sender is not None:  # the message is held: this kills the worker mid-send
                    arm_send.clear()
                    fleet.kill(sender)
                    send_kills.append((time.time(), sender))

        proxy.on_query, tg.on_hold = on_query, on_send
        for name in [*(f"shard{i}" for i in range(SHARDS)), "deliver0", "deliver1"]:
            fleet.start(name)
        active = start_alert_worker(["beat"], env, tmp_path / "beat-active.log")
        standby: subprocess.Popen[bytes] | None = None
        handovers: list[float] = []
        try:
            wait_for(lambda: len(members.live()) == SHARDS, timeout=90, what="three live shards")
            wait_for(lambda: all(_slot(client, g) > 0 for g in groups), timeout=60, what="every group evaluated")
            standby = start_alert_worker(["beat"], env, tmp_path / "beat-standby.log")
            time.sleep(INTERVAL + 1)  # tasks sent to the shared queue before all shards joined have run or expired
            watching.set()
            wait_for(lambda: all(len(evaluated_by[g]) > 0 for g in groups), timeout=30, what="queries of every group")
            time.sleep(4)
            watching.clear()
            steady = {g: sorted(s) for g, s in evaluated_by.items()}
            shown = subprocess.run(
                [str(ALERT_WORKER), "shards"], env=env, cwd=tmp_path, capture_output=True, text=True, check=True
            )
            status = json.loads(shown.stdout)

            for _ in range(2):  # mid-evaluation: the owner dies while its query is held
                kills = len(eval_kills)
                arm_eval.set()
                wait_for(lambda n=kills: len(eval_kills) > n, timeout=30, what="a query to hold")
                killed_at, group, shard = eval_kills[-1]
                before = _slot(client, group)
                wait_for(lambda g=group, b=before: _slot(client, g) > b, timeout=60, what=f"{group} on a survivor")
                handovers.append(time.time() - killed_at)
                assert fleet.procs[shard].poll() is not None
                fleet.start(shard)  # a supervisor restarts it; its groups come back when it joins
                wait_for(lambda: len(members.live()) == SHARDS, timeout=60, what="the restarted shard to join")

            for _ in range(2):  # mid-send: the worker dies while Telegram holds its message
                kills = len(send_kills)
                arm_send.set()
                wait_for(lambda n=kills: len(send_kills) > n, timeout=40, what="a message to hold")
                time.sleep(2)
                fleet.start(send_kills[-1][1])

            os.killpg(active.pid, signal.SIGKILL)  # the active beat dies; the standby takes over
            active.wait()
            beat_killed = time.time()
            standby_log = tmp_path / "beat-standby.log"
            wait_for(lambda: "Acquired lock" in standby_log.read_text(), timeout=60, what="the standby's lock")
            failover = time.time() - beat_killed
            resumed = beat_killed + failover + INTERVAL  # later than anything the dead beat sent can run
            wait_for(
                lambda: all(_slot(client, g) >= resumed for g in groups),
                timeout=60,
                what="evaluations scheduled by the standby beat",
            )
            time.sleep(max(0.0, PERIOD / 2 + 2 - failover))  # a transition under the new beat
        finally:
            beat_stopped = time.time()
            for beat in (active, standby):
                if beat is not None:
                    stop_process_group(beat)
            history = [json.loads(raw) for raw in client.zrange(HISTORY_KEY, 0, -1)]
            jobs = [h for h in history if h.get("kind") == "notification" and h.get("group") in groups]
            outbox = RedisOutbox(client)
            try:
                wait_for(
                    lambda: all(outbox.state(j["idempotency_key"]) == "sent" for j in jobs),
                    timeout=60,
                    what="every notification sent",
                )
            finally:
                fleet.stop()
                proxy.close()
        accepted = list(tg.accepted)
        records = [outbox.get(j["idempotency_key"]) for j in jobs]
    client.flushdb()
    client.close()
    print(f"handovers {handovers} (bound {HANDOVER_BOUND}), beat takeover {failover:.1f} s (bound {TAKEOVER_BOUND})")

    assert len(steady) == GROUPS, steady
    assert all(len(s) == 1 for s in steady.values()), steady  # one owner per group while all shards live
    assert sorted(status["live"]) == ["0", "1", "2"], status
    assert {g: status["groups"][g] for g in groups} == {g: f"{eval_queue}.{steady[g][0]}" for g in groups}
    assert len(eval_kills) == 2, eval_kills
    assert proxy.dropped >= 2, "the kills hit held queries"
    assert len(send_kills) == 2, send_kills
    assert tg.dropped_by_client >= 2, "the kills hit held messages"
    assert all(h <= HANDOVER_BOUND for h in handovers), (handovers, HANDOVER_BOUND)
    assert failover <= TAKEOVER_BOUND, (failover, TAKEOVER_BOUND)

    # The probes have no `for`: pending and firing come in one evaluation; firing -> inactive resolves.
    changes = {("pending", "firing"): "firing", ("firing", "inactive"): "resolved"}
    transitions = [
        (h["group"], h["at"], changes[(h["from_state"], h["to_state"])])
        for h in history
        if h.get("kind") == "transition" and h.get("group") in groups and (h["from_state"], h["to_state"]) in changes
    ]
    for group in groups:
        mine = sorted((at, state) for g, at, state in transitions if g == group)
        states = [s for _, s in mine]
        assert all(a != b for a, b in itertools.pairwise(states)), (group, mine)  # no transition twice
        for at, state in mine[1:]:  # each in its half-period, late by at most a handover or a beat failover
            phase = at % PERIOD
            began = 0 if state == "firing" else PERIOD / 2
            assert began <= phase <= began + FAILOVER_BOUND, (group, at, state, phase)
        # Every half-period boundary after the first transition was crossed exactly once (none lost).
        first = mine[0][0]
        surely = sum(
            1 for t in range(int(first) + 1, int(beat_stopped) - int(FAILOVER_BOUND)) if t % (PERIOD // 2) == 0
        )
        maybe = sum(1 for t in range(int(first) + 1, int(beat_stopped) + INTERVAL + 1) if t % (PERIOD // 2) == 0)
        assert surely <= len(mine) - 1 <= maybe, (group, mine, surely, maybe)
        assert sum(1 for j in jobs if j["group"] == group) == len(mine), (group, "one notification per transition")

    # The chat got each notification once: every message is one job's recorded send, and every job was sent
    # (or, held up past its group's next notice, superseded by it, which the chat then shows).
    sent_ids = Counter(r.remote_id for r in records if r is not None and r.remote_id != "superseded")
    assert all(r is not None and r.state == "sent" for r in records)
    assert Counter(str(m.message_id) for m in accepted) == sent_ids, (len(accepted), sent_ids)
    assert set(sent_ids.values()) == {1}
    assert sum(r.recovered for r in records if r is not None) >= len(send_kills)  # interrupted sends taken over
    # A superseded notice was overtaken by a newer one of its group, which the chat shows: each group's
    # newest notice reached the chat.
    remote = {j["idempotency_key"]: r.remote_id for j, r in zip(jobs, records, strict=True) if r is not None}
    for group in groups:
        newest = max((j for j in jobs if j["group"] == group), key=lambda j: j["at"])
        assert remote[newest["idempotency_key"]] != "superseded", (group, newest)
