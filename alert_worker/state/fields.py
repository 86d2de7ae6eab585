"""A group's state as hash fields: one per rule, alert, notification group and cooldown.

A save then writes only the fields that changed since the state it started from, and encodes only
those: an alert (or notification group) that is the same object as, or equal to, the one loaded is
neither encoded nor written. Pure: no I/O; the stores apply the changes (RedisStore as HSET/HDEL).

Field names: `r|<rule key>` (the rule's last error), `a|<rule key>|<fingerprint>` (an alert),
`g|<group key>` (a notification group), `c|<cooldown key>` (a cooldown's end).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field

from alert_worker.notify.pipeline import GroupState, PipelineState
from alert_worker.rules.state import AlertInstance, RuleState

RULE, ALERT, GROUP, COOLDOWN = "r|", "a|", "g|", "c|"


def _encode(value: object) -> str:
    return json.dumps(value, separators=(",", ":"))


@dataclass
class Changes:
    """Fields to set (name -> encoded value) and fields to delete."""

    set: dict[str, str] = field(default_factory=dict)
    delete: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.set or self.delete)


def _alert_field(rule_key: str, fp: str) -> str:
    return f"{ALERT}{rule_key}|{fp}"


def _rule_changes(out: Changes, new: Mapping[str, RuleState], old: Mapping[str, RuleState]) -> None:
    for key, rule in new.items():
        prev = old.get(key)
        if prev is None or prev.last_error != rule.last_error:
            out.set[RULE + key] = _encode(rule.last_error)
        before: Mapping[str, AlertInstance] = prev.alerts if prev is not None else {}
        for fp, alert in rule.alerts.items():
            was = before.get(fp)
            if was is not alert and was != alert:
                out.set[_alert_field(key, fp)] = _encode(alert.to_dict())
        out.delete.extend(_alert_field(key, fp) for fp in before if fp not in rule.alerts)
    for key, prev in old.items():
        if key not in new:
            out.delete.append(RULE + key)
            out.delete.extend(_alert_field(key, fp) for fp in prev.alerts)


def _pipeline_changes(out: Changes, new: PipelineState, old: PipelineState) -> None:
    for key, group in new.groups.items():
        was = old.groups.get(key)
        if was is not group and was != group:
            out.set[GROUP + key] = _encode(group.to_dict())
    out.delete.extend(GROUP + key for key in old.groups if key not in new.groups)
    for key, until in new.cooldowns.items():
        if old.cooldowns.get(key) != until:
            out.set[COOLDOWN + key] = _encode(until)
    out.delete.extend(COOLDOWN + key for key in old.cooldowns if key not in new.cooldowns)


def changes(
    rules: Mapping[str, RuleState],
    pipeline: PipelineState,
    old_rules: Mapping[str, RuleState] | None,
    old_pipeline: PipelineState | None,
) -> Changes:
    """What turns the stored fields of (`old_rules`, `old_pipeline`) into those of (`rules`, `pipeline`).

    With no old state (None) every field is set.
    """
    out = Changes()
    _rule_changes(out, rules, old_rules or {})
    _pipeline_changes(out, pipeline, old_pipeline or PipelineState())
    return out


def decode(fields: Mapping[str, str | bytes]) -> tuple[dict[str, RuleState], PipelineState]:
    """The rules and pipeline stored in `fields` (rules without their evaluation time, which the marker holds)."""
    errors: dict[str, str] = {}
    alerts: dict[str, dict[str, AlertInstance]] = {}
    groups: dict[str, GroupState] = {}
    cooldowns: dict[str, float] = {}
    for name, raw in fields.items():
        if name.startswith(ALERT):
            key, fp = name[len(ALERT) :].rsplit("|", 1)
            alerts.setdefault(key, {})[fp] = AlertInstance.from_dict(json.loads(raw))
        elif name.startswith(RULE):
            errors[name[len(RULE) :]] = str(json.loads(raw))
        elif name.startswith(GROUP):
            groups[name[len(GROUP) :]] = GroupState.from_dict(json.loads(raw))
        elif name.startswith(COOLDOWN):
            cooldowns[name[len(COOLDOWN) :]] = float(json.loads(raw))
    rules = {key: RuleState(alerts.get(key, {}), None, error) for key, error in errors.items()}
    return rules, PipelineState(groups, cooldowns)


def encode_all(rules: Mapping[str, RuleState], pipeline: PipelineState) -> dict[str, str]:
    """Every field of this state."""
    return changes(rules, pipeline, None, None).set
