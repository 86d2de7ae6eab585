"""Grouping, dedup and timers of the notification pipeline on a fake clock."""

from datetime import UTC, datetime
from pathlib import Path

import pytest

from alert_worker.exceptions import RuleFileError
from alert_worker.models import Alert
from alert_worker.notify.pipeline import Candidate, PipelineState, run_pipeline
from alert_worker.notify.routing import expand_receivers, load_routing, parse_routing, policies_for

ROUTING = parse_routing(
    """
route:
  receivers: [console]
  group_by: [alertname]
  group_wait: 30s
  group_interval: 5m
  repeat_interval: 1h
  cooldown: 0s
""",
    "r.yaml",
)


def alert(host, name="HostHighCpu"):
    return Alert(
        rule=name,
        labels={"alertname": name, "host_name": host},
        annotations={},
        status="firing",
        starts_at=datetime(2026, 1, 1, tzinfo=UTC),
        fingerprint=f"{name}-{host}",
    )


def play(timeline, routing=ROUTING, **cand_kwargs):
    """timeline: list of (second, hosts firing); returns [(second, status, firing hosts, resolved hosts)]."""
    state, out = PipelineState(), []
    for t, hosts in timeline:
        cands = [Candidate(alert(h), **cand_kwargs) for h in hosts]
        res = run_pipeline("g", state, cands, routing, float(t))
        state = res.state
        for job in res.jobs:
            firing = sorted(a.labels["host_name"] for a in job.alerts if a.status == "firing")
            resolved = sorted(a.labels["host_name"] for a in job.alerts if a.status == "resolved")
            out.append((t, job.status, firing, resolved))
    return out


def test_group_wait_batches_the_first_alerts():
    assert play([(0, ["a"]), (10, ["a", "b"]), (30, ["a", "b"])]) == [(30, "firing", ["a", "b"], [])]


def test_group_interval_spaces_updates_and_dedups():
    timeline = [(0, ["a"]), (30, ["a"]), (60, ["a", "b"]), (120, ["a", "b"]), (330, ["a", "b"]), (400, ["a", "b"])]
    assert play(timeline) == [(30, "firing", ["a"], []), (330, "firing", ["a", "b"], [])]


def test_resolved_is_sent_with_what_is_still_firing():
    timeline = [(0, ["a", "b"]), (30, ["a", "b"]), (330, ["a"]), (630, [])]
    assert play(timeline) == [
        (30, "firing", ["a", "b"], []),
        (330, "firing", ["a"], ["b"]),
        (630, "resolved", [], ["a"]),
    ]


def test_repeat_interval_reminds_about_an_unchanged_group():
    timeline = [(0, ["a"]), (30, ["a"]), (1800, ["a"]), (3630, ["a"])]
    assert play(timeline) == [(30, "firing", ["a"], []), (3630, "firing", ["a"], [])]


def test_rule_repeat_interval_overrides_the_route():
    timeline = [(0, ["a"]), (30, ["a"]), (630, ["a"])]
    assert play(timeline, repeat_interval_s=600.0) == [(30, "firing", ["a"], []), (630, "firing", ["a"], [])]


def test_cooldown_defers_a_new_firing_of_the_same_rule():
    # resolve at 330 then fire again at 630: the re-fire waits for the 15m cooldown (till 930).
    timeline = [(0, ["a"]), (30, ["a"]), (330, []), (630, ["a"]), (900, ["a"]), (930, ["a"])]
    assert play(timeline, cooldown_s=900.0) == [
        (30, "firing", ["a"], []),
        (330, "resolved", [], ["a"]),
        (930, "firing", ["a"], []),
    ]


def test_send_resolved_false_stays_quiet_on_resolve():
    routing = parse_routing("route:\n  group_wait: 0s\n  send_resolved: false\n", "r.yaml")
    assert play([(0, ["a"]), (400, [])], routing) == [(0, "firing", ["a"], [])]


def test_rule_channels_override_the_route():
    state = PipelineState()
    res = run_pipeline("g", state, [Candidate(alert("a"), channels=("ops-telegram",))], ROUTING, 30.0)
    assert res.jobs == ()
    res = run_pipeline("g", res.state, [Candidate(alert("a"), channels=("ops-telegram",))], ROUTING, 60.0)
    assert [j.destination for j in res.jobs] == ["ops-telegram"]


def test_idempotency_key_is_stable_for_the_same_transition():
    cands = [Candidate(alert("a"))]
    first = run_pipeline("g", PipelineState(), cands, ROUTING, 0.0)
    one = run_pipeline("g", first.state, cands, ROUTING, 30.0).jobs
    two = run_pipeline("g", first.state, cands, ROUTING, 30.0).jobs
    assert [j.idempotency_key for j in one] == [j.idempotency_key for j in two]


def test_routes_pick_first_match_unless_continue():
    routing = parse_routing(
        """
route:
  receivers: [console]
  routes:
    - matchers: ['severity="critical"']
      receivers: [pager]
      continue: true
    - matchers: ['severity=~"critical|warning"']
      receivers: [chat]
    - matchers: ['severity="warning"']
      receivers: [never]
""",
        "r.yaml",
    )
    assert [p.receivers for p in policies_for(routing, {"severity": "critical"})] == [("pager",), ("chat",)]
    assert [p.receivers for p in policies_for(routing, {"severity": "warning"})] == [("chat",)]
    assert [p.receivers for p in policies_for(routing, {"severity": "info"})] == [("console",)]


def test_star_receiver_means_every_configured_destination():
    routing = parse_routing(
        """
route:
  receivers: ["*"]
  routes:
    - matchers: ['severity="critical"']
      receivers: [pager, "*"]
""",
        "r.yaml",
    )
    expanded = expand_receivers(routing, ["console", "telegram", "pager"])
    assert [p.receivers for p in policies_for(expanded, {"severity": "info"})] == [("console", "telegram", "pager")]
    assert [p.receivers for p in policies_for(expanded, {"severity": "critical"})] == [("pager", "console", "telegram")]


def test_shipped_routing_sends_to_every_destination_the_operator_configured():
    shipped = load_routing(Path(__file__).resolve().parents[3] / "prometheus" / "rules" / "heron.routing.yaml")
    expanded = expand_receivers(shipped, ["console", "slack", "oncall-mail"])
    for severity in ("warning", "critical"):
        [policy] = policies_for(expanded, {"severity": severity, "alertname": "HostHighCpu"})
        assert policy.receivers == ("console", "slack", "oncall-mail")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("route:\n  group_wait: soon\n", "r.yaml:2: route.group_wait"),
        ("route:\n  receivers: [Ops Chat]\n", "r.yaml:2: route.receivers"),
        ("route:\n  routes:\n    - matchers: ['sev=~\"(\"']\n", "r.yaml:3: route.routes.0.matchers"),
        ("inhibit_rules:\n  - source_matchers: []\n    tagret_matchers: []\n", "r.yaml:3: inhibit_rules.0.tagret"),
    ],
)
def test_routing_errors_point_at_file_and_line(text, expected):
    with pytest.raises(RuleFileError) as info:
        parse_routing(text, "r.yaml")
    assert any(p.startswith(expected) for p in info.value.problems), info.value.problems
