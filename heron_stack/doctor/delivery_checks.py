"""Notification delivery checks from Redis: destinations marked unhealthy, recent dead letters."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from heron_stack.doctor.adapters import RedisReader
from heron_stack.doctor.models import Check, fail, ok, warn

DEST_PREFIX = "heron:dest:"
"""alert_worker.delivery.state.PREFIX: `<destination>:health` hashes (healthy 1/0, reason, since)."""
DLQ_KEY = "heron:dlq"
"""alert_worker.delivery.outbox.DLQ_KEY: outbox keys scored by the time they were dead-lettered."""
RECENT_S = 24 * 3600
COMPONENT = "notifications"
TEST_FIX = "`alert-worker notify test --channel {name}` sends a sample and shows the destination's answer"


def judge_destinations(health: Mapping[str, Mapping[str, str]], now: float) -> list[Check]:
    """`health`: destination -> its health hash; only destinations that ever failed have one."""
    out = []
    for name, h in sorted(health.items()):
        if h.get("healthy") == "0":
            since = now - float(h.get("since") or now)
            reason = h.get("reason") or "no reason recorded"
            out.append(
                fail(
                    COMPONENT,
                    f"destination {name} is unhealthy for {since / 60:.0f} min: {reason}",
                    "fix its settings (docs/channels.md); " + TEST_FIX.format(name=name),
                )
            )
    return out


def judge_dead_letters(recent: Sequence[tuple[str, float, str]], now: float) -> Check:
    """`recent`: (outbox key, dead-lettered at, last error) of the last day, newest first."""
    if not recent:
        return ok(COMPONENT, "no notification dead-lettered in the last 24 h")
    key, at, error = recent[0]
    more = f"{len(recent)} notifications" if len(recent) > 1 else "1 notification"
    return warn(
        COMPONENT,
        f"{more} dead-lettered in the last 24 h; newest {(now - at) / 60:.0f} min ago: {error or key}",
        "they were given up after retries (HERON_ALERTS_DELIVERY_MAX_AGE) or refused for good: fix the "
        "destination, then " + TEST_FIX.format(name="NAME"),
    )


def check_delivery(r: RedisReader, now: float) -> list[Check]:
    health = {
        key.removeprefix(DEST_PREFIX).removesuffix(":health"): r.hgetall(key)
        for key in r.keys(f"{DEST_PREFIX}*:health")
    }
    recent = [
        (key, at, r.hgetall(key).get("last_error", "")) for key, at in r.newest(DLQ_KEY, 20) if at >= now - RECENT_S
    ]
    unhealthy = judge_destinations(health, now)
    return [*unhealthy, judge_dead_letters(recent, now)]
