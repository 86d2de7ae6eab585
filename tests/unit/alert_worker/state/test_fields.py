"""A group's state as hash fields: a save encodes and writes only the alerts and notification groups that changed."""

from __future__ import annotations

import math
from dataclasses import replace

from alert_worker.notify.pipeline import GroupState, PipelineState
from alert_worker.notify.routing import Policy
from alert_worker.rules.state import AlertInstance, RuleState
from alert_worker.state import fields

POLICY = Policy(
    route_id="root",
    receivers=("console",),
    group_by=("host_name",),
    group_wait=0.0,
    group_interval=60.0,
    repeat_interval=3600.0,
    cooldown=0.0,
    send_resolved=True,
)
RULE = "HostDown/critical/up == 0"


def _alert(host: str, value: float = 1.0) -> AlertInstance:
    labels = {"alertname": "HostDown", "host_name": host}
    return AlertInstance(f"fp-{host}", labels, {"summary": f"{host} down"}, "firing", 100.0, value, fired_at=160.0)


def _state(*alerts: AlertInstance, error: str = "") -> dict[str, RuleState]:
    return {RULE: RuleState({a.fingerprint: a for a in alerts}, 200.0, error)}


def _pipeline(*hosts: str) -> PipelineState:
    groups = {f"g|{h}": GroupState("console", POLICY, {"host_name": h}, 100.0, 160.0, 160.0) for h in hosts}
    return PipelineState(groups, {"HostDown|g|web-1": 460.0})


def test_every_field_round_trips() -> None:
    rules, pipeline = _state(_alert("web-1"), _alert("web-2", math.inf), error="timeout"), _pipeline("web-1", "web-2")
    decoded_rules, decoded_pipeline = fields.decode(fields.encode_all(rules, pipeline))
    assert decoded_rules == {RULE: replace(rules[RULE], last_eval=None)}, "the evaluation time is the marker's"
    assert decoded_pipeline == pipeline


def test_a_rule_without_alerts_keeps_its_error() -> None:
    rules, _ = fields.decode(fields.encode_all(_state(error="parse error"), PipelineState()))
    assert rules[RULE].last_error == "parse error"
    assert rules[RULE].alerts == {}


def test_only_the_alert_whose_value_changed_is_written() -> None:
    before = _state(*(_alert(f"web-{i}") for i in range(100)))
    alerts = dict(before[RULE].alerts)
    alerts["fp-web-7"] = replace(alerts["fp-web-7"], value=2.0)
    alerts["fp-web-8"] = replace(alerts["fp-web-8"])  # a new object equal to the old one is no change
    after = {RULE: RuleState(alerts, 260.0, "")}
    change = fields.changes(after, PipelineState(), before, PipelineState())
    assert list(change.set) == [f"a|{RULE}|fp-web-7"]
    assert change.delete == []


def test_a_dropped_alert_is_deleted_and_a_new_one_added() -> None:
    before = _state(_alert("web-1"), _alert("web-2"))
    after = _state(_alert("web-2"), _alert("web-3"))
    change = fields.changes(after, PipelineState(), before, PipelineState())
    assert list(change.set) == [f"a|{RULE}|fp-web-3"]
    assert change.delete == [f"a|{RULE}|fp-web-1"]


def test_a_removed_rule_takes_its_alerts_with_it() -> None:
    before = {**_state(_alert("web-1")), "Gone//x": RuleState({"fp-x": _alert("x")}, 200.0, "")}
    change = fields.changes(_state(_alert("web-1")), PipelineState(), before, PipelineState())
    assert change.set == {}
    assert sorted(change.delete) == ["a|Gone//x|fp-x", "r|Gone//x"]


def test_notification_groups_and_cooldowns_change_one_by_one() -> None:
    before = _pipeline("web-1", "web-2")
    groups = dict(before.groups)
    groups["g|web-2"] = replace(groups["g|web-2"], last_flush=460.0)
    del groups["g|web-1"]
    after = PipelineState(groups, {"HostDown|g|web-2": 760.0})
    change = fields.changes({}, after, {}, before)
    assert sorted(change.set) == ["c|HostDown|g|web-2", "g|g|web-2"]
    assert sorted(change.delete) == ["c|HostDown|g|web-1", "g|g|web-1"]
    stored = fields.encode_all({}, before)
    stored.update(change.set)
    for name in change.delete:
        del stored[name]
    assert fields.decode(stored)[1] == after, "applying the changes gives the new state"


def test_nothing_changed_is_no_change() -> None:
    rules, pipeline = _state(_alert("web-1")), _pipeline("web-1")
    assert not fields.changes(rules, pipeline, rules, pipeline)
