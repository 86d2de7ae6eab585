"""Channel-agnostic notification pipeline, after Alertmanager: route, group, dedup, throttle, mute.

Input: the alerts firing now (as notifications should show them). Output: one `NotificationJob` per
(aggregation group transition, destination) and the new pipeline state. Pure: `now` comes in, no I/O.
Timers: `group_wait` before a new group's first message, `group_interval` between updates,
`repeat_interval` to remind about unchanged firing groups, and a per-rule `cooldown` that keeps a
rule from notifying the same destination about the same group more often than that.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from alert_worker.models import Alert, NotificationJob, alert_from_dict, alert_to_dict
from alert_worker.notify.inhibit import Inhibitor
from alert_worker.notify.routing import Policy, RoutingConfig, matcher_labels, policies_for
from alert_worker.notify.silences import Silence, silenced


@dataclass(frozen=True)
class Candidate:
    """A firing alert plus its rule's overrides of the route."""

    alert: Alert
    channels: tuple[str, ...] = ()
    cooldown_s: float | None = None
    repeat_interval_s: float | None = None


@dataclass(frozen=True)
class GroupState:
    """What was last told to one destination about one aggregation group."""

    destination: str
    policy: Policy
    group_labels: Mapping[str, str]
    first_seen: float
    last_flush: float | None = None
    last_firing_sent: float | None = None
    notified: Mapping[str, Alert] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "destination": self.destination,
            "policy": self.policy.model_dump(),
            "group_labels": dict(self.group_labels),
            "first_seen": self.first_seen,
            "last_flush": self.last_flush,
            "last_firing_sent": self.last_firing_sent,
            "notified": {fp: alert_to_dict(a) for fp, a in self.notified.items()},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> GroupState:
        notified = {fp: alert_from_dict(a) for fp, a in dict(data.get("notified", {})).items()}
        return cls(
            destination=data["destination"],
            policy=Policy.model_validate(data["policy"]),
            group_labels=dict(data["group_labels"]),
            first_seen=data["first_seen"],
            last_flush=data.get("last_flush"),
            last_firing_sent=data.get("last_firing_sent"),
            notified=notified,
        )


@dataclass(frozen=True)
class PipelineState:
    groups: Mapping[str, GroupState] = field(default_factory=dict)
    cooldowns: Mapping[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"groups": {k: g.to_dict() for k, g in self.groups.items()}, "cooldowns": dict(self.cooldowns)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PipelineState:
        groups = {k: GroupState.from_dict(g) for k, g in dict(data.get("groups", {})).items()}
        return cls(groups, {k: float(v) for k, v in dict(data.get("cooldowns", {})).items()})


@dataclass
class _Bucket:
    destination: str
    policy: Policy
    group_labels: dict[str, str]
    firing: dict[str, Candidate] = field(default_factory=dict)
    muted: set[str] = field(default_factory=set)


def _dt(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, tz=UTC)


def group_key(scope: str, policy: Policy, destination: str, group_labels: Mapping[str, str]) -> str:
    labels = json.dumps(sorted(group_labels.items()), separators=(",", ":"))
    return f"{scope}|{policy.route_id}|{destination}|{labels}"


def _buckets(
    scope: str,
    candidates: Sequence[Candidate],
    routing: RoutingConfig,
    silences: Sequence[Silence],
    inhibit_sources: Sequence[Mapping[str, str]],
    now: float,
) -> dict[str, _Bucket]:
    buckets: dict[str, _Bucket] = {}
    if not candidates:
        return buckets
    inhibitor = Inhibitor(inhibit_sources, routing.inhibit_rules)
    # Alerts that agree on the labels the routes match on share their policies: found once per variant.
    routed_by = matcher_labels(routing.route)
    routes: dict[tuple[str, ...], list[Policy]] = {}
    for cand in candidates:
        labels = cand.alert.labels
        muted = silenced(labels, silences, now) or inhibitor.inhibited(labels)
        variant = tuple(labels.get(name, "") for name in routed_by)
        policies = routes.get(variant)
        if policies is None:
            policies = routes[variant] = policies_for(routing, labels)
        for policy in policies:
            destinations = cand.channels or policy.receivers
            group_labels = {k: labels[k] for k in policy.group_by if k in labels}
            for dest in destinations:
                key = group_key(scope, policy, dest, group_labels)
                bucket = buckets.setdefault(key, _Bucket(dest, policy, group_labels))
                bucket.firing[cand.alert.fingerprint] = cand
                if muted:
                    bucket.muted.add(cand.alert.fingerprint)
    return buckets


def _idempotency_key(key: str, now: float, firing: Sequence[str], resolved: Sequence[str]) -> str:
    body = json.dumps([key, round(now, 3), sorted(firing), sorted(resolved)], separators=(",", ":"))
    return hashlib.sha256(body.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class PipelineResult:
    state: PipelineState
    jobs: tuple[NotificationJob, ...]


class _Flush:
    def __init__(self, prev: PipelineState, now: float, silences: Sequence[Silence]) -> None:
        self.now, self.silences = now, silences
        self.groups = dict(prev.groups)
        self.cooldowns = {k: v for k, v in prev.cooldowns.items() if v > now}
        self.jobs: list[NotificationJob] = []

    def cooling(self, key: str, bucket: _Bucket, new: Sequence[str]) -> bool:
        return any(self.cooldowns.get(f"{bucket.firing[fp].alert.rule}|{key}", 0.0) > self.now for fp in new)

    def run(self, key: str, bucket: _Bucket | None, state: GroupState | None) -> None:
        if bucket is None:
            if state is None:
                return
            bucket = _Bucket(state.destination, state.policy, dict(state.group_labels))
        if state is None:
            if set(bucket.firing) <= bucket.muted:
                return
            state = GroupState(bucket.destination, bucket.policy, bucket.group_labels, first_seen=self.now)
        current = {fp: c for fp, c in bucket.firing.items() if fp not in bucket.muted}
        gone = [fp for fp in state.notified if fp not in bucket.firing]
        new = [fp for fp in current if fp not in state.notified]
        if state.last_flush is None:
            due = self.now >= state.first_seen + bucket.policy.group_wait
        else:
            due = self.now >= state.last_flush + bucket.policy.group_interval
        repeat = self._repeat_due(state, current, bucket)
        if not due or not (new or gone or repeat) or self.cooling(key, bucket, new):
            self.groups[key] = state
            self._drop_if_empty(key, state, bucket.firing)
            return
        self._emit(key, bucket, state, current, gone)

    def _repeat_due(self, state: GroupState, current: Mapping[str, Candidate], bucket: _Bucket) -> bool:
        if not current or state.last_firing_sent is None:
            return False
        overrides = [c.repeat_interval_s for c in current.values() if c.repeat_interval_s is not None]
        interval = min(overrides) if overrides else bucket.policy.repeat_interval
        return self.now >= state.last_firing_sent + interval

    def _emit(
        self, key: str, bucket: _Bucket, state: GroupState, current: Mapping[str, Candidate], gone: Sequence[str]
    ) -> None:
        resolved = [
            replace(state.notified[fp], status="resolved", ends_at=_dt(self.now))
            for fp in gone
            if not silenced(state.notified[fp].labels, self.silences, self.now)
        ]
        send_resolved = bucket.policy.send_resolved and resolved
        if current or send_resolved:
            firing_alerts = tuple(c.alert for c in current.values())
            alerts = firing_alerts + (tuple(resolved) if bucket.policy.send_resolved else ())
            self.jobs.append(
                NotificationJob(
                    idempotency_key=_idempotency_key(key, self.now, list(current), gone),
                    destination=bucket.destination,
                    group_key=key,
                    group_labels=dict(bucket.group_labels),
                    status="firing" if current else "resolved",
                    alerts=alerts,
                    created_at=_dt(self.now),
                )
            )
        for fp, cand in current.items():
            cooldown = cand.cooldown_s if cand.cooldown_s is not None else bucket.policy.cooldown
            if fp not in state.notified and cooldown > 0:
                self.cooldowns[f"{cand.alert.rule}|{key}"] = self.now + cooldown
        notified = {fp: c.alert for fp, c in current.items()}
        notified.update({fp: a for fp, a in state.notified.items() if fp in bucket.muted})
        self.groups[key] = replace(
            state,
            policy=bucket.policy,
            last_flush=self.now,
            last_firing_sent=self.now if current else state.last_firing_sent,
            notified=notified,
        )
        self._drop_if_empty(key, self.groups[key], bucket.firing)

    def _drop_if_empty(self, key: str, state: GroupState, firing: Mapping[str, Candidate]) -> None:
        if not firing and not state.notified:
            self.groups.pop(key, None)


def run_pipeline(
    scope: str,
    prev: PipelineState,
    candidates: Sequence[Candidate],
    routing: RoutingConfig,
    now: float,
    *,
    silences: Sequence[Silence] = (),
    inhibit_sources: Sequence[Mapping[str, str]] = (),
) -> PipelineResult:
    """Decide which notifications go out at `now`; `scope` (the rule group) prefixes every group key."""
    buckets = _buckets(scope, candidates, routing, silences, inhibit_sources, now)
    flush = _Flush(prev, now, silences)
    for key in sorted(set(buckets) | set(prev.groups)):
        flush.run(key, buckets.get(key), prev.groups.get(key))
    return PipelineResult(PipelineState(flush.groups, flush.cooldowns), tuple(flush.jobs))
