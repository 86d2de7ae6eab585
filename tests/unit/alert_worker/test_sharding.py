"""Shard assignment: stable, total (one owner per group), and minimal movement when a shard leaves."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter

import pytest
import redis

from alert_worker.commands.run import role_queues
from alert_worker.config import AlertsConfig, resolve_config
from alert_worker.exceptions import ConfigError
from alert_worker.sharding import assignment, check_shard, eval_route, owner, shard_queue

GROUPS = [f"group-{i}" for i in range(600)]


def test_the_same_groups_and_shards_give_the_same_owners_in_another_process():
    here = assignment(GROUPS, range(5))
    code = (
        "import json; from alert_worker.sharding import assignment; "
        f"print(json.dumps(assignment({GROUPS!r}, [4, 3, 2, 1, 0])))"
    )
    # Another interpreter (its own string hash seed): the hash is the group's name, nothing process-local.
    there = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert json.loads(there) == here


def test_every_group_has_exactly_one_live_owner():
    owners = assignment(GROUPS, [0, 1, 2])
    assert set(owners) == set(GROUPS)
    assert set(owners.values()) == {0, 1, 2}
    counts = Counter(owners.values())
    assert min(counts.values()) > len(GROUPS) / 3 * 0.75, counts  # spread, not all on one shard


def test_no_live_shard_means_no_owner_and_the_shared_queue():
    assert owner("g", []) is None
    assert eval_route("g", "alerts", {}, []) == "alerts"


def test_only_the_leaving_shards_groups_move_and_they_come_back():
    before = assignment(GROUPS, [0, 1, 2])
    after = assignment(GROUPS, [0, 2])
    moved = {g for g in GROUPS if before[g] != after[g]}
    assert moved == {g for g in GROUPS if before[g] == 1}
    assert {after[g] for g in moved} == {0, 2}  # spread over both survivors
    assert assignment(GROUPS, [0, 1, 2]) == before


def test_a_new_shard_takes_groups_only_from_others_into_itself():
    before = assignment(GROUPS, [0, 1, 2])
    after = assignment(GROUPS, [0, 1, 2, 3])
    assert {after[g] for g in GROUPS if before[g] != after[g]} == {3}


def test_pinned_groups_keep_their_queue_and_the_others_go_to_their_owners_queue():
    pinned = {"slow": "alerts-slow"}
    assert eval_route("slow", "alerts", pinned, [0, 1]) == "alerts-slow"
    assert eval_route("fast", "alerts", pinned, [0, 1]) == shard_queue("alerts", owner("fast", [0, 1]) or 0)
    assert shard_queue("alerts", 2) == "alerts.shard2"


@pytest.mark.parametrize(
    ("shards", "shard", "role", "flag", "says"),
    [
        (3, 3, "all", "--shard", "numbered 0 to 2"),
        (3, -1, "evaluate", "--shard", "numbered 0 to 2"),
        (0, 0, "all", "--shards", "at least 1"),
        (3, None, "all", "--shards", "go together"),
        (None, 1, "all", "--shard", "go together"),
        (3, 1, "deliver", "--shard", "--role deliver"),
    ],
)
def test_bad_shard_flags_name_the_flag_the_value_and_what_is_allowed(shards, shard, role, flag, says):
    with pytest.raises(ConfigError) as err:
        check_shard(shards, shard, role)
    assert err.value.field == flag
    assert says in str(err.value)


def test_good_shard_flags():
    assert check_shard(None, None) is None
    assert check_shard(3, 2, "evaluate") == (3, 2)


def test_a_bad_shard_flag_stops_the_worker_before_it_starts(capsys):
    from alert_worker.cli import main

    assert main(["worker", "--shards", "3", "--shard", "7"]) == 2
    assert "--shard: invalid value 7; shards are numbered 0 to 2" in capsys.readouterr().err


def test_the_shared_eval_queue_stays_with_every_evaluating_worker():
    config = AlertsConfig(eval_queue="alerts", notify_queue="notify", routing_file="")
    assert "alerts" in role_queues(config, "evaluate")
    assert role_queues(config, "deliver") == ["notify"]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("HERON_ALERTS_SHARD_TTL", "1s"),
        ("HERON_ALERTS_BEAT_LOCK_TIMEOUT", "2s"),
        ("HERON_ALERTS_BEAT_LOCK_TIMEOUT", "4.5s"),
    ],
)
def test_too_short_membership_and_beat_lock_timeouts_are_refused(name, value):
    with pytest.raises(ConfigError) as err:
        resolve_config(env={name: value})
    assert err.value.field == name


def test_membership_and_beat_lock_timeouts_take_durations():
    cfg = resolve_config(env={"HERON_ALERTS_SHARD_TTL": "3s", "HERON_ALERTS_BEAT_LOCK_TIMEOUT": "1m"})
    assert (cfg.shard_ttl_s, cfg.beat_lock_timeout_s) == (3.0, 60.0)


def test_beat_renews_its_lock_three_times_per_timeout():
    from alert_worker.celery_app import create_celery

    conf = create_celery(resolve_config(env={"HERON_ALERTS_BEAT_LOCK_TIMEOUT": "6s"})).conf
    assert (conf.redbeat_lock_timeout, conf.beat_max_loop_interval) == (6, 2.0)


def test_beat_sends_each_evaluation_to_its_owners_queue_and_the_rest_elsewhere(tmp_path):
    from alert_worker.celery_app import DELIVER_TASK, EVALUATE_TASK, evaluation_router

    routing = tmp_path / "routing.yaml"
    routing.write_text("route:\n  receivers: ['*']\ngroup_queues:\n  slow: alerts-slow\n")
    cfg = resolve_config(env={"HERON_ALERTS_ROUTING_FILE": str(routing), "HERON_ALERTS_EVAL_QUEUE": "ev"})
    live = [0, 1, 2]
    route = evaluation_router(cfg, live=lambda: live)
    assert route(EVALUATE_TASK, ["fast"], {}, {}) == {"queue": shard_queue("ev", owner("fast", [0, 1, 2]) or 0)}
    assert route(EVALUATE_TASK, ["slow"], {}, {}) == {"queue": "alerts-slow"}
    assert route(DELIVER_TASK, [{}], {}, {}) is None  # notifications keep their queue
    live.clear()
    assert route(EVALUATE_TASK, ["fast"], {}, {}) == {"queue": "ev"}  # no live shard: the shared queue


def test_a_celery_app_routes_through_the_shards(tmp_path):
    from alert_worker.celery_app import EVALUATE_TASK, create_celery

    app = create_celery(resolve_config(env={"HERON_ALERTS_EVAL_QUEUE": f"ev-{tmp_path.name}"}))
    # Nothing listens on the default Redis in unit tests, or no shard of this fresh queue is live.
    options = app.amqp.router.route({}, EVALUATE_TASK, args=["fast"])
    assert options["queue"].name == f"ev-{tmp_path.name}"


class _DownRedis:
    """A Redis client whose server is unreachable."""

    def __getattr__(self, name: str):
        def fail(*args, **kwargs):
            raise redis.ConnectionError("Connection refused")

        return fail


def test_a_worker_whose_redis_is_down_keeps_running_and_keeps_trying(caplog):
    from alert_worker.shard_members import Heartbeat, ShardMembers

    heartbeat = Heartbeat(ShardMembers(_DownRedis(), "alerts", ttl_s=2), shard=1, shards=3)
    heartbeat.start()  # from Celery's worker_ready signal: an error here would leave the shard out for good
    heartbeat.stop()
    assert "shard 1: cannot refresh its member key" in caplog.text


@pytest.mark.parametrize("command", ["shards", "beat"])
def test_an_unreachable_redis_stops_the_command_with_a_message_not_a_traceback(command):
    from tests.fixtures.stack import free_port

    url = f"redis://:hunter2@127.0.0.1:{free_port()}/0"  # nothing listens there
    env = {**os.environ, "HERON_ALERTS_REDIS_URL": url}
    done = subprocess.run(
        [sys.executable, "-m", "alert_worker", command],
        check=False,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert f"alert-worker {command}: cannot reach Redis at redis://:***@127.0.0.1:" in done.stderr
    assert "start Redis or set HERON_ALERTS_REDIS_URL" in done.stderr
    assert "Traceback" not in done.stderr
    assert "hunter2" not in done.stderr


class _CountingDownRedis(_DownRedis):
    """An unreachable Redis that counts the reads tried on it."""

    def __init__(self) -> None:
        self.calls = 0

    def __getattr__(self, name: str):
        self.calls += 1
        return super().__getattr__(name)


def test_beat_reads_the_live_shards_once_per_period_while_redis_is_down(caplog):
    from alert_worker.celery_app import EVALUATE_TASK, evaluation_router
    from alert_worker.shard_members import ShardMembers

    client = _CountingDownRedis()
    members = ShardMembers(client, "ev", ttl_s=3)
    route = evaluation_router(
        resolve_config(env={"HERON_ALERTS_EVAL_QUEUE": "ev"}), live=lambda: members.live_cached(60)
    )
    for group in GROUPS[:50]:
        assert route(EVALUATE_TASK, [group], {}, {}) == {"queue": "ev"}  # the shared queue
    assert client.calls == 1  # the failure is kept as "no live shard" for the period, not retried per task
    assert "cannot read the live shards" in caplog.text


@pytest.mark.parametrize(
    ("running_since", "progresses"),
    [
        ([], True),  # idle
        ([990.0], True),  # 10 s into an evaluation
        ([990.0, 965.0], True),  # exactly at the limit
        ([990.0, 964.0], False),  # one evaluation past interval + visibility timeout
    ],
)
def test_a_worker_progresses_unless_an_evaluation_outlives_its_interval_and_visibility_timeout(
    running_since, progresses
):
    from alert_worker.shard_members import progressing

    assert progressing(running_since, now=1000.0, stuck_after_s=35.0) is progresses


def test_the_task_clock_sees_the_pool_processes_running_evaluations(tmp_path):
    from alert_worker.shard_members import TaskClock

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], check=True, capture_output=True)
    clock = TaskClock(tmp_path)
    clock.started(os.getpid(), 5.0)
    clock.started(int(dead.stdout), 1.0)  # a pool process killed mid-task: its start is dropped
    assert clock.running_since() == [5.0]
    clock.finished(os.getpid())
    assert clock.running_since() == []
    clock.remove()
    assert clock.running_since() == []


class _CountingMembers:
    ttl_s = 3.0

    def __init__(self) -> None:
        self.refreshed = 0

    def refresh(self, shard: int, shards: int) -> None:
        self.refreshed += 1

    def leave(self, shard: int) -> None:
        pass


def test_a_stuck_worker_stops_refreshing_its_shard_and_resumes_when_it_progresses(caplog):
    from alert_worker.shard_members import Heartbeat

    members, healthy = _CountingMembers(), [True]
    heartbeat = Heartbeat(members, shard=0, shards=2, healthy=lambda: healthy[0])  # type: ignore[arg-type]
    heartbeat._refresh()
    healthy[0] = False
    heartbeat._refresh()
    assert members.refreshed == 1  # the key lapses: beat moves the shard's groups to the others
    assert "shard 0: an evaluation is stuck" in caplog.text
    healthy[0] = True
    heartbeat._refresh()
    assert members.refreshed == 2
