"""Table-driven tests of the alert state machine on a fake clock (one evaluation per step)."""

from dataclasses import replace

import pytest

from alert_worker.rules.evaluator import (
    DuplicateSeriesError,
    EvalSettings,
    Sample,
    evaluate,
    evaluate_failed,
    match_results,
    shift_for_downtime,
    vanished_firing,
)
from alert_worker.rules.model import AlertRule
from alert_worker.rules.state import RuleState

SETTINGS = EvalSettings(flap_threshold=3, flap_window_s=600)
CPU = AlertRule(
    name="HostHighCpu",
    expr="cpu > 0.9",
    group="hosts",
    for_s=300,
    labels={"severity": "warning"},
    annotations={"summary": "{{ $labels.host_name }} at {{ $value | humanizePercentage }}"},
)


def run(rule, steps, *, interval=60, present=True):
    """Evaluate `steps` (value or None per evaluation); return the visible state after each one."""
    state, seen = RuleState(), []
    for i, value in enumerate(steps):
        now = 1000.0 + i * interval
        samples = [] if value is None else [Sample({"host_name": "web-1"}, value)]
        matched = match_results(rule, samples, SETTINGS)
        presence = {a.fingerprint: present for a in vanished_firing(state, matched)}
        state = evaluate(rule, state, now, matched, presence, SETTINGS).state
        alerts = list(state.alerts.values())
        seen.append(alerts[0].state + ("+nodata" if alerts[0].no_data else "") if alerts else "-")
    return seen


# "x" = matches, "." = does not match; one evaluation per minute.
@pytest.mark.parametrize(
    ("name", "rule", "pattern", "expected"),
    [
        ("for 0 fires on the first match", replace(CPU, for_s=0), "x.", ["firing", "inactive"]),
        ("for 5m fires on the 6th evaluation", CPU, "xxxxxx", ["pending"] * 5 + ["firing"]),
        (
            "a pending alert that stops matching is dropped",
            CPU,
            "xxx.xx",
            ["pending"] * 3 + ["-", "pending", "pending"],
        ),
        ("the timer restarts after a gap", CPU, "xxx.xxxxxx", ["pending"] * 3 + ["-"] + ["pending"] * 5 + ["firing"]),
        ("firing resolves on the first miss", replace(CPU, for_s=60), "xx.", ["pending", "firing", "inactive"]),
        (
            "keep_firing_for holds a resolved condition",
            replace(CPU, for_s=0, keep_firing_for_s=120),
            "x...",
            ["firing", "firing", "firing", "inactive"],
        ),
        (
            "keep_firing_for resets when it matches again",
            replace(CPU, for_s=0, keep_firing_for_s=120),
            "x..x...",
            ["firing", "firing", "firing", "firing", "firing", "firing", "inactive"],
        ),
        (
            "a resolved alert that matches again is pending anew",
            replace(CPU, for_s=60),
            "xx.x",
            [
                "pending",
                "firing",
                "inactive",
                "pending",
            ],
        ),
    ],
)
def test_state_machine(name, rule, pattern, expected):
    steps = [0.95 if c == "x" else None for c in pattern]
    assert run(rule, steps, present=True) == expected, name


def test_vanished_target_is_held_as_no_data_not_resolved():
    rule = replace(CPU, for_s=0)
    assert run(rule, [0.95, None, None], present=False) == ["firing", "firing+nodata", "firing+nodata"]


def test_no_data_policy_resolve_resolves_like_prometheus():
    rule = replace(CPU, for_s=0, no_data="resolve")
    assert run(rule, [0.95, None], present=False) == ["firing", "inactive"]


def test_data_returning_clears_no_data():
    rule = replace(CPU, for_s=0)
    assert run(rule, [0.95, None, 0.97], present=False) == ["firing", "firing+nodata", "firing"]


def test_labels_and_annotations_are_rendered_and_alertname_added():
    matched = match_results(CPU, [Sample({"__name__": "cpu", "host_name": "web-1"}, 0.953)], SETTINGS)
    (m,) = matched.values()
    assert dict(m.labels) == {"host_name": "web-1", "severity": "warning", "alertname": "HostHighCpu"}
    assert m.annotations["summary"] == "web-1 at 95.3%"


def test_duplicate_label_sets_are_an_evaluation_error():
    rule = replace(CPU, labels={"host_name": "same"})
    samples = [Sample({"host_name": "a"}, 1.0), Sample({"host_name": "b"}, 1.0)]
    with pytest.raises(DuplicateSeriesError):
        match_results(rule, samples, SETTINGS)


def test_failed_query_never_resolves():
    rule = replace(CPU, for_s=0)
    state = evaluate(rule, RuleState(), 1000.0, match_results(rule, [Sample({"h": "a"}, 1)], SETTINGS), {}, SETTINGS)
    failed = evaluate_failed(state.state, 1060.0, "connection refused")
    assert [a.state for a in failed.alerts.values()] == ["firing"]
    assert failed.last_error == "connection refused"


def test_flapping_alert_is_held_firing_until_it_calms_down():
    rule = replace(CPU, for_s=0)
    state = RuleState()
    flags = []
    for i, c in enumerate("x.x.x.x.x" + "." * 12):
        now = 1000.0 + i * 60
        samples = [Sample({"host_name": "web-1"}, 0.95)] if c == "x" else []
        state = evaluate(rule, state, now, match_results(rule, samples, SETTINGS), {}, SETTINGS).state
        (a,) = state.alerts.values() if state.alerts else (None,)
        flags.append("F" if a and a.flapping else "-")
    # 4 flips within 10 minutes make it flap; it calms down once the last 4 flips leave the window.
    assert "".join(flags) == "---" + "F" * 13 + "-" * 5


def test_transitions_are_reported_once():
    rule = replace(CPU, for_s=60)
    state, log = RuleState(), []
    for i, c in enumerate("xxx."):
        samples = [Sample({"host_name": "web-1"}, 0.95)] if c == "x" else []
        res = evaluate(rule, state, 1000.0 + 60 * i, match_results(rule, samples, SETTINGS), {}, SETTINGS)
        state = res.state
        log += [(t.from_state, t.to_state, t.at) for t in res.transitions]
    assert log == [("inactive", "pending", 1000.0), ("pending", "firing", 1060.0), ("firing", "inactive", 1180.0)]


def test_worker_downtime_does_not_count_toward_for():
    rule = CPU
    samples = [Sample({"host_name": "web-1"}, 0.95)]
    state = evaluate(rule, RuleState(), 1000.0, match_results(rule, samples, SETTINGS), {}, SETTINGS).state
    shifted = shift_for_downtime(state, 1000.0 + 600, 60)
    (a,) = shifted.alerts.values()
    assert a.active_at == 1000.0 + 540
    after = evaluate(rule, shifted, 1600.0, match_results(rule, samples, SETTINGS), {}, SETTINGS).state
    assert [x.state for x in after.alerts.values()] == ["pending"]


def test_state_round_trips_through_json():
    import json

    rule = replace(CPU, for_s=0)
    samples = [Sample({"host_name": "web-1"}, 0.95)]
    state = evaluate(rule, RuleState(), 1000.0, match_results(rule, samples, SETTINGS), {}, SETTINGS).state
    assert RuleState.from_dict(json.loads(json.dumps(state.to_dict()))) == state


def test_a_series_seen_before_renders_the_same_and_a_new_value_renders_anew():
    rule = AlertRule(
        "Hot", "temp > 80", "cache", labels={"severity": "warning"}, annotations={"summary": "{{ $value }} degrees"}
    )
    first = match_results(rule, [Sample({"host_name": "a"}, 81.0)], EvalSettings())
    again = match_results(rule, [Sample({"host_name": "a"}, 81.0)], EvalSettings())
    assert again == first
    hotter = match_results(rule, [Sample({"host_name": "a"}, 95.0)], EvalSettings())
    ((fp, m),) = hotter.items()
    assert fp in first, "the same labels keep their fingerprint"
    assert m.annotations == {"summary": "95 degrees"}
    other = match_results(rule, [Sample({"host_name": "a"}, 81.0)], EvalSettings(external_labels={"site": "x"}))
    assert other == first


def test_templates_that_query_are_rendered_every_time():
    rule = AlertRule("Q", "up == 0", "cache", annotations={"n": '{{ query "count(up)" | first | value }}'})
    answers = iter([[Sample({}, 3.0)], [Sample({}, 4.0)]])
    renders = [
        match_results(rule, [Sample({"host_name": "a"}, 0.0)], EvalSettings(), lambda expr: next(answers))
        for _ in range(2)
    ]
    assert [next(iter(r.values())).annotations["n"] for r in renders] == ["3", "4"]


def test_an_edited_rule_renders_its_new_templates_for_a_series_seen_before():
    before = AlertRule("Hot", "temp > 80", "edit", annotations={"summary": "hot: {{ $value }}"}, labels={"team": "a"})
    after = AlertRule(
        "Hot", "temp > 80", "edit", annotations={"summary": "too hot: {{ $value }}"}, labels={"team": "b"}
    )
    sample = [Sample({"host_name": "a"}, 81.0)]
    match_results(before, sample, EvalSettings())
    ((_, m),) = match_results(after, sample, EvalSettings()).items()
    assert m.annotations == {"summary": "too hot: 81"}
    assert m.labels["team"] == "b"
