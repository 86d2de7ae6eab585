"""Alert engine checks from its Redis state: groups evaluated on time, one beat holding the RedBeat lock."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field

from heron_stack.config import StackConfig
from heron_stack.doctor.adapters import Probes, RedisPyReader, RedisReader
from heron_stack.doctor.delivery_checks import check_delivery
from heron_stack.doctor.models import Check, fail, ok, warn

STATE_PREFIX = "heron:alerts:"
"""alert_worker.state.redis_store.PREFIX: `groups` set, `slot:<group>` = `[last evaluated slot, evaluation time]`."""
REDBEAT_PREFIX = "heron:alerts:redbeat:"
"""alert_worker.celery_app's redbeat_key_prefix; RedBeat adds `:lock` and `:schedule`."""
EVALUATE_ENTRY = "heron-evaluate:"
OVERDUE_S = 30.0
NEW_SCHEDULE_RUNS = 3
"""A group the beat has scheduled fewer times than this may not have been evaluated yet (first runs expire)."""
COMPONENT = "alert-engine"


@dataclass(frozen=True)
class EngineState:
    """What the engine's Redis keys say. Per group: last evaluated slot, schedule interval, times scheduled."""

    slots: Mapping[str, float] = field(default_factory=dict)
    intervals: Mapping[str, float] = field(default_factory=dict)
    runs: Mapping[str, int] = field(default_factory=dict)
    lock_pttl_ms: int = -2
    overdue: Mapping[str, float] = field(default_factory=dict)


def judge_evaluations(state: EngineState, now: float) -> Check:
    """Each scheduled group's last slot is at most 3 intervals old; blames the beat when none holds the lock."""
    if not state.slots and not any(n >= NEW_SCHEDULE_RUNS for n in state.runs.values()):
        if state.runs:
            return warn(
                COMPONENT, "no rule group evaluated yet; the schedule has just started", "run again in a minute"
            )
        return fail(
            COMPONENT,
            "no rule group has ever been evaluated",
            "start the worker and beat: `heron up` (or `heron up --only alert-worker alert-beat`)",
        )
    late: list[tuple[str, float, float]] = []
    new: list[tuple[str, float, float]] = []
    for group, interval in sorted(state.intervals.items()):
        age = now - state.slots.get(group, float("-inf"))
        if age <= 4 * interval:  # the slot starts one interval before it is evaluated, then 3 intervals grace
            continue
        (late if state.runs.get(group, 0) >= NEW_SCHEDULE_RUNS else new).append((group, age, interval))
    if late:
        group, age, interval = late[0]
        when = "never" if age == float("inf") else f"{age:.0f}s ago"
        return fail(
            COMPONENT,
            f"{len(late)} rule group(s) behind; {group} last evaluated {when} (every {interval:g}s)",
            "no beat schedules them: start alert-beat (next line)"
            if state.lock_pttl_ms == -2
            else "is alert-worker running and consuming its queue? see its log; a group routed to its own "
            "queue (heron.routing.yaml) needs a worker on that queue",
            late=[g for g, _, _ in late],
        )
    if new:
        return warn(COMPONENT, f"{len(new)} rule group(s) not evaluated yet; their schedule has just started")
    newest = now - max(state.slots.values())
    count = len(state.intervals) or len(state.slots)
    return ok(COMPONENT, f"{count} rule group(s) evaluated on time (latest slot {newest:.0f}s ago)")


def judge_beat(lock_pttl_ms: int, overdue: Mapping[str, float], beat_running: bool) -> Check:
    """`lock_pttl_ms` as Redis PTTL answers (-2: no lock); `overdue`: group -> seconds past due;
    `beat_running`: the alert-beat `heron up` started here runs."""
    if lock_pttl_ms == -2:
        why = "the alert-beat started here runs but does not hold it; see its log" if beat_running else "none runs"
        return fail(
            COMPONENT,
            f"no beat holds the RedBeat lock, so nothing schedules evaluations ({why})",
            "start exactly one beat: `heron up --only alert-beat`",
        )
    late = {k: v for k, v in overdue.items() if v > OVERDUE_S}
    if late:
        return fail(
            COMPONENT,
            f"a beat holds the RedBeat lock but {len(late)} rule group(s) are overdue "
            f"by up to {max(late.values()):.0f}s",
            "the lock holder is stuck: restart alert-beat (`heron down` then `heron up`)",
        )
    expires = f"renewed, expires in {lock_pttl_ms / 1000:.0f}s" if lock_pttl_ms > 0 else "no expiry"
    where = "the alert-beat started here" if beat_running else "a beat on another host"
    return ok(COMPONENT, f"one beat holds the RedBeat lock: {where} ({expires})")


def _interval(definition: str | None) -> float | None:
    try:
        schedule = json.loads(definition or "")["schedule"]
        return float(schedule["every"]) if schedule.get("__type__") == "interval" else None
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


def _slot(raw: str | None) -> float | None:
    """The slot from a group's marker: `[slot, evaluated_at]`, or a bare number as older workers wrote it."""
    try:
        value = json.loads(raw) if raw is not None else None
        return float(value[0] if isinstance(value, list) else value) if value is not None else None
    except (ValueError, TypeError, IndexError):
        return None


def _meta_runs(meta: str | None) -> int:
    try:
        return int(json.loads(meta or "")["total_run_count"])
    except (ValueError, KeyError, TypeError):
        return 0


def read_state(r: RedisReader, now: float) -> EngineState:
    slots: dict[str, float] = {}
    for group in sorted(r.smembers(f"{STATE_PREFIX}groups")):
        slot = _slot(r.get(f"{STATE_PREFIX}slot:{group}"))
        if slot is not None and slot >= 0:
            slots[group] = slot
    intervals: dict[str, float] = {}
    runs: dict[str, int] = {}
    overdue: dict[str, float] = {}
    for key, due in r.zscores(f"{REDBEAT_PREFIX}:schedule"):
        if key.startswith(REDBEAT_PREFIX + EVALUATE_ENTRY):  # housekeeping entries may run late harmlessly
            group = key.removeprefix(REDBEAT_PREFIX + EVALUATE_ENTRY)
            if due > 0:
                overdue[group] = now - due
            every = _interval(r.hget(key, "definition"))
            if every:
                intervals[group] = every
                runs[group] = _meta_runs(r.hget(key, "meta"))
    return EngineState(slots, intervals, runs, r.pttl(f"{REDBEAT_PREFIX}:lock"), overdue)


def check_alert_engine(config: StackConfig, probes: Probes) -> list[Check]:
    try:
        import redis
    except ImportError:
        return [warn(COMPONENT, "not checked: redis-py is not installed", "pip install 'heron-stack[doctor]'")]
    url = f"redis://{config.addr('redis')}/0"
    reader = probes.redis(url) if probes.redis else RedisPyReader(url, probes.call_timeout)
    try:
        now = probes.now()
        state = read_state(reader, now)
        delivery = check_delivery(reader, now)
    except (redis.RedisError, OSError, ValueError) as exc:
        return [warn(COMPONENT, f"not checked: cannot read its state from Redis ({type(exc).__name__}: {exc})")]
    finally:
        reader.close()
    return [
        judge_evaluations(state, now),
        judge_beat(state.lock_pttl_ms, state.overdue, probes.processes.state("alert-beat").running),
        *delivery,
    ]
