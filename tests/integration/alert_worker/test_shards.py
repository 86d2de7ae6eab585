"""Sharded evaluation on real Celery workers and real Redis: three evaluation workers (`--shards 3 --shard I`),
two delivery workers, an active and a standby beat. A group's owner is SIGKILLed mid-evaluation (its
Prometheus query held), a delivery worker mid-send (its Telegram request held), twice each, then the
active beat.

Checked, from the workers' own task logs and Redis: while all shards live every group is evaluated by
exactly one worker; every slot is evaluated at most once, and no group goes more evaluation slots without
one than docs/sharding.md allows (a dead worker's groups go to a survivor within the member TTL plus one
interval, the standby beat schedules within the lock timeout plus a third of it); every transition
happened exactly once (none lost, none doubled) and every notification reached the chat exactly once.
"""

from __future__ import annotations

import ast
import itertools
import json
import math
import os
import re
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
from alert_worker.state.base import parse_marker
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
# Behaviour bounds (docs/sharding.md), counted in evaluation slots after the slot of the kill: a dead
# worker's groups are evaluated elsewhere within its member TTL plus one interval plus beat's once-a-second
# look at the live shards; a standby beat holds the lock within the lock timeout plus a third of it and sends
# what is due at once. One more slot covers picking a task up on a busy machine.
HANDOVER_SLOTS = math.ceil((SHARD_TTL + INTERVAL + 1) / INTERVAL) + 1
FAILOVER_SLOTS = math.ceil((BEAT_LOCK + BEAT_LOCK / 3 + INTERVAL) / INTERVAL) + 1
#: The longest a beat's router keeps its view of the live shards (min(1 s, TTL / 4), alert_worker/celery_app.py).
ROUTER_VIEW_S = min(1.0, SHARD_TTL / 4)
#: Deadlines of the polls: generous, well above the documented guarantees; a pass never waits for them.
DEADLINE = 60
TOKEN = "123456:SHARD-token-abcdefghijklmnopqrstu"
CHAT = "-100777"
HISTORY_KEY = "heron:alerts:history"
BEAT_LOCK_KEY = "heron:alerts:redbeat::lock"
#: A Celery task's success line in a worker log, with the task's return value.
SUCCEEDED = re.compile(r"Task heron\.evaluate_group\[[^]]+\] succeeded in [0-9.e-]+s: (\{.*\})\s*$")


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

    def kill(self, name: str) -> set[int]:
        """SIGKILL `name` with its pool; the process ids that died."""
        try:
            main = psutil.Process(self.procs[name].pid)
            pids = {main.pid, *(child.pid for child in main.children(recursive=True))}
        except psutil.NoSuchProcess:
            pids = {self.procs[name].pid}
        os.killpg(self.procs[name].pid, signal.SIGKILL)
        self.procs[name].wait()
        return pids

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
    return parse_marker(raw)[0] if raw is not None else -1.0


def _shared_drained(client: redis.Redis, queue: str) -> bool:
    """Nothing waits in the shared evaluation queue and no task taken from it is still running (tasks are
    acknowledged late, so a running one stays in kombu's `unacked` hash with its routing key)."""
    if client.llen(queue):
        return False
    return all(json.loads(raw)[2] != queue for raw in client.hvals("unacked"))


def _leased_by(client: redis.Redis, pids: set[int]) -> dict[str, float]:
    """Outbox keys a worker among `pids` holds in `sending`, with the end of its lease."""
    leased: dict[str, float] = {}
    for key in client.scan_iter(match="heron:outbox:*", count=500):
        state, owner, lease_until = client.hmget(key, ["state", "owner", "lease_until"])
        if state == b"sending" and owner is not None and int(owner.decode().split(":")[-2]) in pids:
            leased[key.decode()] = float(lease_until or 0)
    return leased


def _evaluations(log_dir: Path, groups: list[str]) -> dict[str, list[tuple[float, str]]]:
    """Every saved evaluation of each group, (slot, shard worker) in slot order, from the workers' task logs."""
    found: dict[str, list[tuple[float, str]]] = {g: [] for g in groups}
    for log in log_dir.glob("shard*-*.log"):
        for line in log.read_text(errors="replace").splitlines():
            match = SUCCEEDED.search(line)
            if match is None:
                continue
            result = ast.literal_eval(match.group(1))
            if result.get("status") == "evaluated" and result["group"] in found:
                found[result["group"]].append((float(result["slot"]), log.name.split("-")[0]))
    return {g: sorted(runs) for g, runs in found.items()}


def _first_after(runs: list[tuple[float, str]], at: float) -> tuple[float, str]:
    """How many slots after the one containing `at` the next evaluation was saved (inf if none), and by whom."""
    slot_at = at // INTERVAL * INTERVAL
    later = [(slot, worker) for slot, worker in runs if slot > slot_at]
    return ((later[0][0] - slot_at) / INTERVAL, later[0][1]) if later else (math.inf, "")


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
        queried: Counter[str] = Counter()
        watching = threading.Event()
        eval_kills: list[tuple[float, str, str]] = []  # (when, group, shard worker)
        send_kills: list[tuple[float, str, set[int]]] = []  # (when, delivery worker, its process ids)
        arm_eval, arm_send = threading.Event(), threading.Event()

        by_label = {f'"g{i}"': group for i, group in enumerate(groups)}

        def on_query(query: str, port: int) -> bool:
            group = next((g for label, g in by_label.items() if label in query), None)
            shard = fleet.worker_with(local=port) if watching.is_set() or arm_eval.is_set() else None
            if group is None or shard is None:
                return False
            if watching.is_set():
                evaluated_by[group].add(shard)
                queried[group] += 1
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
                    send_kills.append((time.time(), sender, fleet.kill(sender)))

        proxy.on_query, tg.on_hold = on_query, on_send
        for name in [*(f"shard{i}" for i in range(SHARDS)), "deliver0", "deliver1"]:
            fleet.start(name)
        active = start_alert_worker(["beat"], env, tmp_path / "beat-active.log")
        standby: subprocess.Popen[bytes] | None = None
        try:
            wait_for(lambda: len(members.live()) == SHARDS, timeout=90, what="three live shards")
            joined = time.time()
            wait_for(lambda: all(_slot(client, g) > 0 for g in groups), timeout=DEADLINE, what="every group evaluated")
            standby = start_alert_worker(["beat"], env, tmp_path / "beat-standby.log")
            # Until beat's router sees all three shards it sends to the shared queue, which any shard takes
            # from. Once its view is newer than the join, it sends only to shard queues: wait until the
            # shared queue is empty and none of its tasks still runs.
            wait_for(
                lambda: time.time() > joined + ROUTER_VIEW_S and _shared_drained(client, eval_queue),
                timeout=DEADLINE,
                what="the shared evaluation queue drained",
            )
            watching.set()
            wait_for(
                lambda: all(queried[g] >= 3 for g in groups), timeout=DEADLINE, what="three queries of every group"
            )
            watching.clear()
            steady = {g: sorted(s) for g, s in evaluated_by.items()}
            shown = subprocess.run(
                [str(ALERT_WORKER), "shards"], env=env, cwd=tmp_path, capture_output=True, text=True, check=True
            )
            status = json.loads(shown.stdout)

            for _ in range(2):  # mid-evaluation: the owner dies while its query is held
                kills = len(eval_kills)
                arm_eval.set()
                wait_for(lambda n=kills: len(eval_kills) > n, timeout=DEADLINE, what="a query to hold")
                _, group, shard = eval_kills[-1]
                before = _slot(client, group)
                wait_for(
                    lambda g=group, b=before: _slot(client, g) > b, timeout=DEADLINE, what=f"{group} on a survivor"
                )
                assert fleet.procs[shard].poll() is not None
                fleet.start(shard)  # a supervisor restarts it; its groups come back when it joins
                wait_for(lambda: len(members.live()) == SHARDS, timeout=60, what="the restarted shard to join")

            for _ in range(2):  # mid-send: the worker dies while Telegram holds its message
                kills = len(send_kills)
                arm_send.set()
                wait_for(lambda n=kills: len(send_kills) > n, timeout=DEADLINE, what="a message to hold")
                _, sender, pids = send_kills[-1]
                held = _leased_by(client, pids)
                assert held, "the killed worker had claimed the held message"
                # The restarted worker comes back once the dead one's claim has lapsed and can be taken over.
                wait_for(
                    lambda p=pids: all(until <= time.time() for until in _leased_by(client, p).values()),
                    timeout=DEADLINE,
                    what=f"the lease of {sender}'s interrupted send to lapse",
                )
                fleet.start(sender)

            token = client.get(BEAT_LOCK_KEY)
            assert token is not None, "the active beat holds the lock"
            os.killpg(active.pid, signal.SIGKILL)  # the active beat dies; the standby takes over
            active.wait()
            beat_killed = time.time()
            wait_for(
                lambda: client.get(BEAT_LOCK_KEY) not in (None, token), timeout=DEADLINE, what="the standby's lock"
            )
            assert "Acquired lock" in (tmp_path / "beat-standby.log").read_text(), "the standby holds the lock"
            resumed = time.time() + INTERVAL  # later than anything the dead beat sent can run
            wait_for(
                lambda: all(_slot(client, g) >= resumed for g in groups),
                timeout=DEADLINE,
                what="evaluations scheduled by the standby beat",
            )

            def transitioned_since() -> bool:
                recent = (json.loads(raw) for raw in client.zrangebyscore(HISTORY_KEY, resumed, "+inf"))
                return {h["group"] for h in recent if h.get("kind") == "transition"} >= set(groups)

            wait_for(transitioned_since, timeout=PERIOD / 2 + DEADLINE, what="a transition under the new beat")
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
    evaluations = _evaluations(tmp_path, groups)

    assert len(steady) == GROUPS, steady
    assert all(len(s) == 1 for s in steady.values()), steady  # one owner per group while all shards live
    assert sorted(status["live"]) == ["0", "1", "2"], status
    assert {g: status["groups"][g] for g in groups} == {g: f"{eval_queue}.{steady[g][0]}" for g in groups}
    assert len(eval_kills) == 2, eval_kills
    assert proxy.dropped >= 2, "the kills hit held queries"
    assert len(send_kills) == 2, send_kills
    assert tg.dropped_by_client >= 2, "the kills hit held messages"

    # Every slot evaluated at most once; a dead owner's group evaluated next by a survivor, within the bound;
    # after the beat's death every group evaluated again within the failover bound; never a longer gap.
    for group, runs in evaluations.items():
        slots = [slot for slot, _ in runs]
        assert len(slots) == len(set(slots)), (group, "a slot evaluated twice", runs)
        gaps = [(b - a) / INTERVAL for a, b in itertools.pairwise(slots)]
        assert max(gaps) <= FAILOVER_SLOTS + 1, (group, "slots skipped", runs)
        assert _first_after(runs, beat_killed)[0] <= FAILOVER_SLOTS, (group, beat_killed, runs)
    for killed_at, group, shard in eval_kills:
        slots, survivor = _first_after(evaluations[group], killed_at)
        assert slots <= HANDOVER_SLOTS, (group, killed_at, evaluations[group])
        assert survivor != shard, (group, killed_at, shard, evaluations[group])

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
            assert began <= phase <= began + FAILOVER_SLOTS * INTERVAL, (group, at, state, phase)
        # Every half-period boundary after the first transition was crossed exactly once (none lost).
        first = mine[0][0]
        surely = sum(
            1 for t in range(int(first) + 1, int(beat_stopped) - FAILOVER_SLOTS * INTERVAL) if t % (PERIOD // 2) == 0
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
