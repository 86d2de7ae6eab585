"""The engine end to end on fakes: query -> state -> pipeline -> jobs, on a fake clock."""

from dataclasses import replace

import pytest

from alert_worker.engine import Engine, evaluate_group
from alert_worker.exceptions import SourceError
from alert_worker.models import job_from_dict
from alert_worker.notify.matchers import parse_matcher
from alert_worker.notify.routing import parse_routing
from alert_worker.notify.silences import Silence
from alert_worker.rules.model import AlertRule, RuleGroup
from alert_worker.state.base import GroupSnapshot, HistoryQuery
from alert_worker.state.memory import MemoryStore

from .fakes import FakeSource

ROUTING = parse_routing(
    """
route:
  receivers: [console]
  group_by: [alertname, host_name]
  group_wait: 0s
  group_interval: 1m
  repeat_interval: 1h
  cooldown: 0s
  routes:
    - matchers: ['severity="critical"']
      receivers: [ops-telegram, console]
inhibit_rules:
  - source_matchers: ['alertname="HostStoppedReporting"']
    target_matchers: ['alertname!="HostStoppedReporting"']
    equal: [host_name]
""",
    "routing.yaml",
)
CPU = AlertRule("HostHighCpu", "cpu > 0.9", "hosts", labels={"severity": "warning"}, annotations={"summary": "cpu"})
DOWN = AlertRule("HostStoppedReporting", "stopped", "hosts", labels={"severity": "critical"})
GROUP = RuleGroup("hosts", 60.0, (CPU, DOWN))


@pytest.fixture
def world():
    source, store, sent = FakeSource(), MemoryStore(), []
    engine = Engine(source=source, store=store, routing=ROUTING, enqueue=sent.append)
    return source, store, sent, engine


def tick(engine, minute, group=GROUP):
    return evaluate_group(engine, group, 60_000.0 + 60 * minute)


def summary(jobs):
    return sorted((j.destination, j.status, tuple(sorted(a.labels.get("alertname") for a in j.alerts))) for j in jobs)


def test_breach_notifies_once_and_resolve_is_sent(world):
    source, _store, sent, engine = world
    source.present_hosts = {"web-1"}
    source.series["cpu > 0.9"] = {"web-1": 0.95}
    tick(engine, 0)
    assert summary(sent) == [("console", "firing", ("HostHighCpu",))]
    tick(engine, 1)
    tick(engine, 2)
    assert len(sent) == 1, "an unchanged firing group is not re-notified before repeat_interval"
    source.series["cpu > 0.9"] = {}
    tick(engine, 3)
    assert summary(sent[1:]) == [("console", "resolved", ("HostHighCpu",))]
    assert len({j.idempotency_key for j in sent}) == 2


def test_same_slot_twice_is_a_no_op(world):
    source, _store, sent, engine = world
    source.series["cpu > 0.9"] = {"web-1": 0.95}
    first = evaluate_group(engine, GROUP, 60_000.0)
    again = evaluate_group(engine, GROUP, 60_030.0)
    assert (first.status, again.status) == ("evaluated", "skipped")
    assert len(sent) == 1
    assert len(source.queries) == 2, "one query per rule, none for the repeated slot"


def test_critical_routes_to_two_destinations_with_distinct_keys(world):
    source, _store, sent, engine = world
    source.series["stopped"] = {"web-1": 1}
    tick(engine, 0)
    assert [j.destination for j in sent] == ["console", "ops-telegram"]
    assert len({j.idempotency_key for j in sent}) == 2


def test_prometheus_outage_never_resolves_and_raises_a_meta_alert(world):
    source, _store, sent, engine = world
    source.series["cpu > 0.9"] = {"web-1": 0.95}
    tick(engine, 0)
    source.down = True
    tick(engine, 1)
    tick(engine, 2)
    assert all(j.status == "firing" for j in sent)
    assert summary(sent[1:]) == [
        ("console", "firing", ("HeronPrometheusUnreachable",)),
        ("ops-telegram", "firing", ("HeronPrometheusUnreachable",)),
    ]
    names = {a.labels["alertname"] for j in sent for a in j.alerts}
    assert names == {"HostHighCpu", "HeronPrometheusUnreachable"}
    source.down = False
    tick(engine, 3)
    resolved = {a.labels["alertname"] for j in sent[3:] for a in j.alerts if a.status == "resolved"}
    assert resolved == {"HeronPrometheusUnreachable"}


def test_vanished_target_is_held_and_reported_as_no_data(world):
    source, _store, sent, engine = world
    source.series["cpu > 0.9"] = {"web-1": 0.95}
    source.present_hosts = {"web-1"}
    tick(engine, 0)
    source.series["cpu > 0.9"] = {}
    source.present_hosts = set()
    tick(engine, 1)
    statuses = [(a.labels["alertname"], a.status) for j in sent for a in j.alerts]
    assert ("HostHighCpu", "resolved") not in statuses
    nodata = [a for j in sent for a in j.alerts if a.labels["alertname"] == "HeronNoData"]
    assert nodata
    assert nodata[0].labels["host_name"] == "web-1"
    assert nodata[0].labels["heron_rule"] == "HostHighCpu"


def test_host_down_inhibits_that_hosts_other_alerts(world):
    source, _store, sent, engine = world
    source.series["cpu > 0.9"] = {"web-1": 0.95, "web-2": 0.99}
    source.series["stopped"] = {"web-1": 1}
    tick(engine, 0)
    cpu_hosts = sorted(a.labels["host_name"] for j in sent for a in j.alerts if a.labels["alertname"] == "HostHighCpu")
    assert cpu_hosts == ["web-2"]


def test_silence_mutes_matching_alerts_until_it_expires(world):
    source, store, sent, engine = world
    store.put_silence(
        Silence("s1", (parse_matcher('host_name="web-1"'),), 0.0, 60_000.0 + 150, "ops", "maintenance", 0.0)
    )
    source.series["cpu > 0.9"] = {"web-1": 0.95}
    tick(engine, 0)
    tick(engine, 1)
    assert sent == []
    tick(engine, 3)
    assert summary(sent) == [("console", "firing", ("HostHighCpu",))]


def test_crash_between_save_and_enqueue_is_recovered_from_the_outbox(world):
    source, store, sent, engine = world
    source.series["cpu > 0.9"] = {"web-1": 0.95}

    def broker_down(job):
        raise ConnectionError("broker down")

    with pytest.raises(ConnectionError):
        tick(replace(engine, enqueue=broker_down), 0)
    assert store.load_group("hosts").outbox, "the job was saved before sending"
    tick(engine, 0)
    assert summary(sent) == [("console", "firing", ("HostHighCpu",))]
    assert store.load_group("hosts").outbox == []
    tick(engine, 1)
    assert len(sent) == 1


def test_restart_keeps_state_and_notifies_a_resolve_that_happened_meanwhile(world):
    source, store, sent, engine = world
    source.series["cpu > 0.9"] = {"web-1": 0.95}
    tick(engine, 0)
    restarted = Engine(source=source, store=store, routing=ROUTING, enqueue=sent.append)
    tick(restarted, 5)
    assert len(sent) == 1, "a firing alert is not re-notified after a restart"
    source.series["cpu > 0.9"] = {}
    source.present_hosts = {"web-1"}
    tick(Engine(source=source, store=store, routing=ROUTING, enqueue=sent.append), 9)
    assert summary(sent[1:]) == [("console", "resolved", ("HostHighCpu",))]


def test_history_records_transitions_and_notifications(world):
    source, store, _sent, engine = world
    source.series["cpu > 0.9"] = {"web-1": 0.95}
    tick(engine, 0)
    rows = store.history(HistoryQuery(rule="HostHighCpu", host="web-1"))
    kinds = sorted((r["kind"], r.get("to_state", r.get("status"))) for r in rows)
    assert kinds == [("notification", "firing"), ("transition", "firing"), ("transition", "pending")]


def test_jobs_survive_the_json_codec(world):
    from alert_worker.models import job_to_dict

    source, _store, sent, engine = world
    source.series["cpu > 0.9"] = {"web-1": 0.95}
    tick(engine, 0)
    assert job_from_dict(job_to_dict(sent[0])) == sent[0]


def test_a_concurrent_run_of_the_same_slot_does_not_count_twice(world):
    source, store, sent, engine = world
    source.series["cpu > 0.9"] = {"web-1": 0.95}
    real_load = store.load_group

    def racing_load(group):
        snap = real_load(group)
        # another worker (whose lock expired) saves the same slot while this one is still querying
        store.save_group(group, GroupSnapshot(last_slot=60_000.0), [])
        return snap

    store.load_group = racing_load
    outcome = evaluate_group(engine, GROUP, 60_010.0)
    assert outcome.status == "skipped"
    assert sent == [], "the losing run enqueues nothing"
    assert store.history(HistoryQuery(kind="transition")) == []


def test_outcome_counts_pending_and_firing_alerts_by_rule_and_severity(world):
    source, _store, _sent, engine = world
    source.present_hosts = {"web-1", "web-2"}
    source.series["cpu > 0.9"] = {"web-1": 0.95, "web-2": 0.97}
    source.series["stopped"] = {}

    outcome = tick(engine, 0, RuleGroup("hosts", 60.0, (replace(CPU, for_s=120), DOWN)))
    assert outcome.alerts_by_rule == {("HostHighCpu", "warning", "pending"): 2}

    outcome = tick(engine, 2, RuleGroup("hosts", 60.0, (replace(CPU, for_s=120), DOWN)))
    assert outcome.alerts_by_rule == {("HostHighCpu", "warning", "firing"): 2}


def test_anomaly_alert_is_sent_with_the_usual_value_for_the_hour_of_the_week(world):
    source, _store, sent, engine = world
    rule = AlertRule(
        "HostCpuAnomaly",
        "cpu_score",
        "anomaly",
        labels={"severity": "warning"},
        annotations={"subject": "CPU of {{ $labels.host_name }}", "summary": "fallback"},
        anomaly="anomaly:host_cpu",
        anomaly_unit="ratio",
    )
    source.series["cpu_score"] = {"web-1": 5.0}
    source.series["anomaly:host_cpu:seasonal_avg or anomaly:host_cpu:avg"] = {"web-1": 0.3}
    source.series["anomaly:host_cpu:seasonal_stddev or anomaly:host_cpu:stddev"] = {"web-1": 0.05}
    evaluate_group(engine, RuleGroup("anomaly", 60.0, (rule,)), 60_000.0)  # Thursday 1970-01-01 16:40 UTC
    ((alert,),) = [j.alerts for j in sent]
    assert alert.annotations["summary"] == (
        "CPU of web-1 is 5.0\u03c3 above its usual value for Thursday 16:00 (usual 30% ± 5%)"
    )


def test_annotation_queries_run_at_the_evaluation_time_and_an_outage_leaves_them_empty(world):
    source, _store, sent, engine = world
    rule = AlertRule(
        "BudgetBurn",
        "burn > 14.4",
        "slo",
        labels={"severity": "page"},
        annotations={"summary": "{{ query `budget_left` | first | value | humanizePercentage }} left"},
    )
    group = RuleGroup("slo", 60.0, (rule,))
    source.series["burn > 14.4"] = {"web-1": 20.0}
    source.series["budget_left"] = {"web-1": 0.42}
    tick(engine, 0, group)
    (job,) = sent
    assert job.alerts[0].annotations["summary"] == "42% left"
    assert ("budget_left", 60_000.0) in source.queries

    class HalfDown(FakeSource):
        def query(self, expr, at):
            if expr == "budget_left":
                raise SourceError("Prometheus at http://prom unreachable: ConnectError", transient=True)
            return super().query(expr, at)

    half = HalfDown()
    half.series = source.series
    out = evaluate_group(replace(engine, source=half), replace(group, name="slo2"), 60_000.0)
    assert out.transitions[-1].to_state == "firing"
    assert out.jobs[0].alerts[0].annotations["summary"] == "NaN% left"
