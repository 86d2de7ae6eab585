"""One evaluation of one rule group at one time slot: query, advance state, notify, save.

Idempotent per (group, slot): the slot is recorded with the state in one transaction, and
notification jobs are written to an outbox in that same transaction before they are enqueued,
so a worker killed at any point neither loses nor doubles a transition.
"""

from __future__ import annotations

import contextvars
import math
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Literal, Protocol
from urllib.parse import quote

from alert_worker.anomaly.context import annotate
from alert_worker.exceptions import SourceError, StaleEvaluationError
from alert_worker.models import Alert, NotificationJob, job_from_dict, job_to_dict
from alert_worker.notify.pipeline import Candidate, run_pipeline
from alert_worker.notify.routing import RoutingConfig
from alert_worker.rules import meta
from alert_worker.rules.evaluator import (
    EvalSettings,
    Matched,
    Sample,
    evaluate,
    evaluate_failed,
    match_results,
    shift_for_downtime,
    vanished_firing,
)
from alert_worker.rules.model import AlertRule, RuleGroup
from alert_worker.rules.state import AlertInstance, RuleState, Transition
from alert_worker.stages import StageClock, collecting
from alert_worker.state.base import GroupSnapshot, StateStore

DEFAULT_QUERY_CONCURRENCY = 4
"""Queries of one group in flight at once, unless configured (HERON_ALERTS_QUERY_CONCURRENCY)."""

Answer = list[Sample] | SourceError | ValueError
"""A rule's query result, or the error its query ended with (raised again when the rule is stepped)."""


class Source(Protocol):
    def query(self, expr: str, at: float) -> list[Sample]: ...

    def series_present(self, labels: Mapping[str, str], at: float) -> bool: ...

    def series_present_many(self, label_sets: Sequence[Mapping[str, str]], at: float) -> list[bool]:
        """`series_present` of each label set (a source may ask for many in one query)."""
        ...


class LogsSource(Protocol):
    """Where `type: vlogs` groups are evaluated: LogsQL stats over the lines of a window ending at `at`."""

    def query(self, expr: str, at: float, window_s: float) -> list[Sample]: ...


@dataclass(frozen=True)
class Engine:
    """The adapters and settings an evaluation needs."""

    source: Source
    store: StateStore
    routing: RoutingConfig = field(default_factory=RoutingConfig)
    settings: EvalSettings = field(default_factory=EvalSettings)
    enqueue: Callable[[NotificationJob], None] = lambda job: None
    generator_base: str = ""
    logs: LogsSource | None = None
    logs_base: str = ""
    query_concurrency: int = DEFAULT_QUERY_CONCURRENCY
    """How many queries of one group are in flight at once (1: one after another)."""


@dataclass(frozen=True)
class Outcome:
    group: str
    slot: float
    status: Literal["evaluated", "skipped", "busy"]
    transitions: tuple[Transition, ...] = ()
    jobs: tuple[NotificationJob, ...] = ()
    failed_rules: int = 0
    alerts_by_state: Mapping[str, int] = field(default_factory=dict)
    alerts_by_rule: Mapping[tuple[str, str, str], int] = field(default_factory=dict)
    """(alertname, severity, state) -> count, for pending and firing alerts."""
    stages: Mapping[str, float] = field(default_factory=dict)
    """Seconds per stage of this run (see alert_worker.stages.STAGES)."""


def slot_of(now: float, interval_s: float) -> float:
    """Start of the evaluation slot containing `now`."""
    return math.floor(now / interval_s) * interval_s


def _dt(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, tz=UTC)


def _identity(rule: AlertRule, alert: AlertInstance) -> dict[str, str]:
    """The labels that came from the query result (what identifies the monitored target)."""
    return {k: v for k, v in alert.labels.items() if k != "alertname" and k not in rule.labels}


class _GroupRun:
    """One evaluation of a group at time `at` (queries and timers use it)."""

    def __init__(self, engine: Engine, group: RuleGroup, snap: GroupSnapshot, at: float, clock: StageClock) -> None:
        self.e, self.group, self.snap, self.at, self.clock = engine, group, snap, at, clock
        self.states: dict[str, RuleState] = {}
        self.rules: dict[str, AlertRule] = {}
        self.transitions: list[Transition] = []
        self.failures: dict[str, Matched] = {}
        self.unreachable_error = ""

    def step(self, key: str, rule: AlertRule, matched: Mapping[str, Matched], present: Mapping[str, bool]) -> None:
        prev = shift_for_downtime(self.snap.rules.get(key, RuleState()), self.at, self.group.interval_s)
        result = evaluate(rule, prev, self.at, matched, present, self.e.settings)
        self.states[key], self.rules[key] = result.state, rule
        self.transitions.extend(result.transitions)

    def _query(self, rule: AlertRule) -> list[Sample]:
        if self.group.type != "vlogs":
            return self.e.source.query(rule.expr, self.at)
        if self.e.logs is None:
            raise SourceError(
                "no log store configured for `type: vlogs` rules (HERON_ALERTS_VICTORIALOGS_URL)", transient=False
            )
        return self.e.logs.query(rule.expr, self.at, self.group.interval_s)

    def _template_query(self, expr: str) -> list[Sample]:
        """The templates' `query`: a failure leaves the annotation's value empty, never the alert unevaluated."""
        try:
            return self.e.source.query(expr, self.at)
        except SourceError:
            return []

    def _answer(self, rule: AlertRule) -> Answer:
        try:
            return self._query(rule)
        except (SourceError, ValueError) as exc:
            return exc

    def fetch(self, rules: Sequence[AlertRule]) -> list[Answer]:
        """Every rule's query, at most `query_concurrency` in flight; answers in rule order."""
        workers = min(self.e.query_concurrency, len(rules))
        if workers <= 1:
            return [self._answer(rule) for rule in rules]
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="heron-query") as pool:
            # Each query runs in a copy of this context, so the source reports to this run's clock.
            futures = [pool.submit(contextvars.copy_context().run, self._answer, rule) for rule in rules]
            return [f.result() for f in futures]

    def rule(self, rule: AlertRule, answer: Answer) -> None:
        prev = self.snap.rules.get(rule.key, RuleState())
        try:
            if not isinstance(answer, list):
                raise answer
            query = self._template_query if self.group.type != "vlogs" else None
            matched = match_results(rule, answer, self.e.settings, query)
            if rule.anomaly and matched:
                matched = annotate(self.e.source, rule, matched, self.at)
            vanished = vanished_firing(prev, matched)
            present = self._present(rule, vanished) if vanished else {}
        except SourceError as exc:
            self._failed(rule, prev, str(exc), transient=exc.transient)
            return
        except ValueError as exc:
            self._failed(rule, prev, str(exc), transient=False)
            return
        self.step(rule.key, rule, matched, present)

    def _present(self, rule: AlertRule, vanished: Sequence[AlertInstance]) -> dict[str, bool]:
        """Whether the targets of vanished firing alerts still report (by fingerprint), asked all at once."""
        if rule.no_data != "alert" or self.group.type == "vlogs":
            # No matching log lines is the condition ending, not a target going silent.
            return {a.fingerprint: True for a in vanished}
        try:
            with self.clock.time("query"):
                found = self.e.source.series_present_many([_identity(rule, a) for a in vanished], self.at)
        except SourceError:
            return {a.fingerprint: False for a in vanished}  # cannot tell: holding the alerts is the safe side
        return {a.fingerprint: ok for a, ok in zip(vanished, found, strict=True)}

    def _failed(self, rule: AlertRule, prev: RuleState, error: str, *, transient: bool) -> None:
        self.states[rule.key], self.rules[rule.key] = evaluate_failed(prev, self.at, error), rule
        if transient:
            self.unreachable_error = error
        else:
            fp, m = meta.rule_failed(self.group.name, rule, error)
            self.failures[fp] = m

    def meta_rules(self) -> None:
        logs = self.group.type == "vlogs"
        unreachable_name = meta.LOGS_UNREACHABLE if logs else meta.UNREACHABLE
        unreachable = (
            meta.unreachable(self.group.name, self.unreachable_error, logs=logs) if self.unreachable_error else {}
        )
        nodata: dict[str, Matched] = {}
        flapping: dict[str, Matched] = {}
        for state in list(self.states.values()):
            for a in state.alerts.values():
                if a.state == "firing" and a.no_data:
                    nodata.update([meta.derived(meta.NO_DATA, a)])
                if a.flapping:
                    flapping.update([meta.derived(meta.FLAPPING, a)])
        for name, matched in (
            (unreachable_name, unreachable),
            (meta.RULE_FAILED, self.failures),
            (meta.NO_DATA, nodata),
            (meta.FLAPPING, flapping),
        ):
            self.step(f"meta:{name}", meta.meta_rule(name, self.group.name), matched, {})

    def candidates(self) -> list[Candidate]:
        out = []
        for key, state in self.states.items():
            rule = self.rules[key]
            for a in state.alerts.values():
                if a.state == "firing" or (a.flapping and a.fired_at is not None):
                    out.append(Candidate(self._alert(rule, a), rule.channels, rule.cooldown_s, rule.repeat_interval_s))
        return out

    def _generator_url(self, rule: AlertRule) -> str:
        """Where the expression can be run by hand: Prometheus' graph page, or VictoriaLogs' UI."""
        if self.group.type == "vlogs":
            return f"{self.e.logs_base}/select/vmui/#/?query={quote(rule.expr)}" if self.e.logs_base else ""
        return f"{self.e.generator_base}/graph?g0.expr={quote(rule.expr)}&g0.tab=1" if self.e.generator_base else ""

    def _alert(self, rule: AlertRule, a: AlertInstance) -> Alert:
        annotations = dict(a.annotations)
        if a.no_data:
            annotations["heron_no_data"] = "true"
        if a.flapping:
            annotations["heron_flapping"] = "true"
        url = self._generator_url(rule)
        return Alert(
            rule=rule.name,
            labels=dict(a.labels),
            annotations=annotations,
            status="firing",
            starts_at=_dt(a.fired_at if a.fired_at is not None else a.active_at),
            value=a.value if math.isfinite(a.value) else None,
            fingerprint=a.fingerprint,
            generator_url=url,
        )


def _history(
    group: str, transitions: list[Transition], jobs: tuple[NotificationJob, ...], slot: float
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = [{"kind": "transition", "group": group, **t.to_dict()} for t in transitions]
    for job in jobs:
        first = job.alerts[0] if job.alerts else None
        rows.append(
            {
                "kind": "notification",
                "group": group,
                "rule": first.rule if first else "",
                "labels": dict(first.labels) if first else dict(job.group_labels),
                "destination": job.destination,
                "status": job.status,
                "alerts": len(job.alerts),
                "idempotency_key": job.idempotency_key,
                "at": slot,
            }
        )
    return rows


def flush_outbox(engine: Engine, group: str, snap: GroupSnapshot) -> int:
    """Enqueue jobs saved but not yet handed to the broker (a crash between save and send)."""
    if not snap.outbox:
        return 0
    for data in snap.outbox:
        engine.enqueue(job_from_dict(data))
    engine.store.clear_outbox(group)
    return len(snap.outbox)


def evaluate_group(engine: Engine, group: RuleGroup, now: float) -> Outcome:
    """Evaluate `group` at `now`, at most once per slot (`now` rounded down to the group's interval).

    Queries run at `now` itself, like Prometheus' own ticks; the slot only guards against a
    second run (beat duplicates, redelivery after a lost worker). The outcome says where the time went.
    """
    clock = StageClock()
    with collecting(clock):
        outcome = _evaluate(engine, group, now, clock)
    return replace(outcome, stages=clock.seconds())


def _evaluate(engine: Engine, group: RuleGroup, now: float, clock: StageClock) -> Outcome:
    slot = slot_of(now, group.interval_s)
    started = time.perf_counter()
    # The lock only saves duplicate work; correctness comes from the slot check at save time, so a
    # worker killed while holding it blocks the group for at most one interval (the shard handover bound).
    with engine.store.lock(group.name, ttl_s=group.interval_s) as acquired:
        if not acquired:
            return Outcome(group.name, slot, "busy")
        snap = engine.store.load_group(group.name)
        clock.add("load", time.perf_counter() - started)
        with clock.time("enqueue"):
            flush_outbox(engine, group.name, snap)
        if snap.last_slot is not None and slot <= snap.last_slot:
            return Outcome(group.name, slot, "skipped")
        run = _GroupRun(engine, group, snap, now, clock)
        with clock.time("query"):
            answers = run.fetch(group.rules)
        queried = clock.seconds().get("query", 0.0)
        started = time.perf_counter()
        for rule, answer in zip(group.rules, answers, strict=True):
            run.rule(rule, answer)
        run.meta_rules()
        candidates = run.candidates()
        firing = [dict(c.alert.labels) for c in candidates]
        # Presence checks of vanished series are queries too: they count there, not here.
        clock.add("state", time.perf_counter() - started - (clock.seconds().get("query", 0.0) - queried))
        with clock.time("load"):
            # Inhibition acts on firing alerts, silences on those and on resolve messages of notified ones:
            # a group with neither reads nothing more.
            sources = firing + engine.store.firing_elsewhere(group.name) if candidates else []
            silences = engine.store.list_silences() if candidates or snap.pipeline.groups else []
        with clock.time("pipeline"):
            result = run_pipeline(
                group.name, snap.pipeline, candidates, engine.routing, now, silences=silences, inhibit_sources=sources
            )
        with clock.time("save"):
            new = GroupSnapshot(slot, run.states, result.state, [job_to_dict(j) for j in result.jobs], firing)
            try:
                engine.store.save_group(
                    group.name, new, _history(group.name, run.transitions, result.jobs, now), previous=snap
                )
            except StaleEvaluationError:
                return Outcome(group.name, slot, "skipped")  # a concurrent run of this slot won; its jobs count
        with clock.time("enqueue"):
            flush_outbox(engine, group.name, new)
        counts: dict[str, int] = {}
        by_rule: dict[tuple[str, str, str], int] = {}
        for state in run.states.values():
            for a in state.alerts.values():
                counts[a.state] = counts.get(a.state, 0) + 1
                if a.state in ("pending", "firing"):
                    key = (a.labels.get("alertname", ""), a.labels.get("severity", "none"), a.state)
                    by_rule[key] = by_rule.get(key, 0) + 1
        return Outcome(
            group.name,
            slot,
            "evaluated",
            tuple(run.transitions),
            result.jobs,
            sum(1 for s in run.states.values() if s.last_error),
            counts,
            by_rule,
        )
