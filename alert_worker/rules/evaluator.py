"""The per-series alert state machine, following Prometheus' rule manager.

inactive -> pending (first match) -> firing (matched for `for`) -> inactive (resolved, after
`keep_firing_for`). Heron additions, all explicit in the state: a firing alert whose target stopped
reporting is held as firing with `no_data` instead of resolving; an alert that flips more than
`flap_threshold` times within `flap_window_s` is `flapping` and held as firing until it calms down.
Pure: no clock, no I/O. The caller passes the query result and which vanished series still exist.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from alert_worker.exceptions import TemplateError
from alert_worker.rules.model import AlertRule
from alert_worker.rules.state import AlertInstance, RuleState, Transition, fingerprint
from alert_worker.rules.templating import Query, TemplateData, render


@dataclass(frozen=True)
class Sample:
    """One series of an instant-query result."""

    labels: Mapping[str, str]
    value: float


@dataclass(frozen=True)
class EvalSettings:
    """Knobs shared by every rule of a worker."""

    external_labels: Mapping[str, str] = field(default_factory=dict)
    flap_threshold: int = 4
    flap_window_s: float = 1800.0
    resolved_retention_s: float = 900.0


@dataclass(frozen=True)
class Matched:
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    value: float


class DuplicateSeriesError(ValueError):
    """Two result series collapse to one label set once the rule's labels are applied."""


_Sample = tuple[tuple[tuple[str, str], ...], float]
_Pairs = tuple[tuple[str, str], ...]
_RECENT: dict[tuple[str, str, _Pairs, _Pairs, _Pairs], dict[_Sample, tuple[str, Matched]]] = {}
"""Per rule (its templates and the external labels included, so an edited rule renders anew): the last
result's series, with their rendered labels and fingerprints."""
_RECENT_RULES_MAX = 10_000
"""Rules remembered at most; edited and removed rules leave entries behind, so past this it starts over."""


def _uses_query(rule: AlertRule) -> bool:
    return any("query" in t for t in (*rule.labels.values(), *rule.annotations.values()))


def match_results(
    rule: AlertRule, samples: list[Sample], settings: EvalSettings, query: Query | None = None
) -> dict[str, Matched]:
    """Alert label sets (by fingerprint) for this result, with labels and annotations rendered.

    `query` serves the templates' `query` function at the evaluation time. A series with the same labels
    and value as in the rule's previous result reuses what was rendered for it then (templates are pure
    but for `query`; rules whose templates call it are rendered every time).
    """
    cache_key = (
        rule.group,
        rule.key,
        tuple(sorted(rule.labels.items())),
        tuple(sorted(rule.annotations.items())),
        tuple(sorted(settings.external_labels.items())),
    )
    cacheable = not _uses_query(rule)
    before = _RECENT.get(cache_key, {}) if cacheable else {}
    now: dict[_Sample, tuple[str, Matched]] = {}
    out: dict[str, Matched] = {}
    for sample in samples:
        key = (tuple(sample.labels.items()), sample.value)
        hit = before.get(key)
        if hit is None:
            hit = _match(rule, sample, settings, query)
        fp, m = hit
        if fp in out:
            raise DuplicateSeriesError(
                f"rule {rule.name}: vector contains series with the same label set after applying alert labels"
            )
        out[fp] = m
        now[key] = hit
    if cacheable:
        if len(_RECENT) >= _RECENT_RULES_MAX and cache_key not in _RECENT:
            _RECENT.clear()
        _RECENT[cache_key] = now
    return out


def _match(rule: AlertRule, sample: Sample, settings: EvalSettings, query: Query | None) -> tuple[str, Matched]:
    original = {k: v for k, v in sample.labels.items() if k != "__name__"}
    data = TemplateData(original, sample.value, settings.external_labels, query)
    try:
        labels = dict(original)
        labels.update({k: render(v, data) for k, v in rule.labels.items()})
        labels["alertname"] = rule.name
        annotations = {k: render(v, data) for k, v in rule.annotations.items()}
    except TemplateError as exc:
        raise ValueError(f"rule {rule.name}: template failed: {exc}") from exc
    return fingerprint(labels), Matched(labels, annotations, sample.value)


def vanished_firing(prev: RuleState, matched: Mapping[str, Matched]) -> list[AlertInstance]:
    """Firing alerts missing from this result: the caller checks whether their targets still report."""
    return [a for fp, a in prev.alerts.items() if a.state == "firing" and fp not in matched]


class _Run:
    def __init__(self, rule: AlertRule, prev: RuleState, now: float, settings: EvalSettings) -> None:
        self.rule, self.now, self.settings = rule, now, settings
        self.alerts: dict[str, AlertInstance] = dict(prev.alerts)
        self.transitions: list[Transition] = []

    def record(self, a: AlertInstance, old: str, new: str) -> None:
        self.transitions.append(Transition(self.rule.name, a.fingerprint, a.labels, old, new, self.now, a.value))

    def matched(self, fp: str, m: Matched) -> None:
        a = self.alerts.get(fp)
        if a is not None and a.state != "inactive":
            if a.no_data:
                self.record(a, "nodata", "firing")
            # The steady case keeps the very same object, which the store then knows it need not write again.
            if a.value != m.value or a.no_data or a.keep_firing_since is not None or a.annotations != m.annotations:
                self.alerts[fp] = replace(
                    a, value=m.value, annotations=m.annotations, keep_firing_since=None, no_data=False
                )
            return
        flips, flapping = (a.flips, a.flapping) if a is not None else ((), False)
        new = AlertInstance(fp, m.labels, m.annotations, "pending", self.now, m.value, flips=flips, flapping=flapping)
        self.alerts[fp] = new
        self.record(new, "inactive", "pending")

    def missing(self, fp: str, a: AlertInstance, target_present: bool) -> None:
        retention = max(self.settings.resolved_retention_s, self.settings.flap_window_s)
        if a.state == "inactive":
            if a.resolved_at is None or self.now - a.resolved_at > retention:
                del self.alerts[fp]
            return
        if a.state == "pending":
            self.record(a, "pending", "inactive")
            if a.flips:  # keep flip history so a flapping alert stays recognisable
                self.alerts[fp] = replace(a, state="inactive", resolved_at=a.resolved_at or self.now)
            else:
                del self.alerts[fp]
            return
        keep = self.rule.keep_firing_for_s
        if keep > 0:
            since = a.keep_firing_since if a.keep_firing_since is not None else self.now
            if self.now - since < keep:
                self.alerts[fp] = replace(a, keep_firing_since=since)
                return
        if self.rule.no_data == "alert" and not target_present:
            if not a.no_data:
                self.record(a, "firing", "nodata")
            self.alerts[fp] = replace(a, no_data=True)
            return
        resolved = replace(a, state="inactive", resolved_at=self.now, no_data=False, flips=(*a.flips, self.now))
        self.alerts[fp] = resolved
        self.record(resolved, "firing", "inactive")

    def promote(self, fp: str) -> None:
        a = self.alerts[fp]
        if a.state == "pending" and self.now - a.active_at >= self.rule.for_s:
            fired = replace(a, state="firing", fired_at=self.now, resolved_at=None, flips=(*a.flips, self.now))
            self.alerts[fp] = fired
            self.record(fired, "pending", "firing")

    def update_flapping(self) -> None:
        window, limit = self.settings.flap_window_s, self.settings.flap_threshold
        for fp, a in self.alerts.items():
            flips = a.flips
            if flips and self.now - flips[0] >= window:  # flips are in time order: only then is one out
                flips = tuple(t for t in flips if self.now - t < window)
            flapping = len(flips) > limit
            if flapping != a.flapping:
                self.record(a, "stable" if flapping else "flapping", "flapping" if flapping else "stable")
            if flapping != a.flapping or flips != a.flips:  # copying every alert every cycle was most of this
                self.alerts[fp] = replace(a, flips=flips, flapping=flapping)


@dataclass(frozen=True)
class EvalResult:
    state: RuleState
    transitions: tuple[Transition, ...]


def evaluate(
    rule: AlertRule,
    prev: RuleState,
    now: float,
    matched: Mapping[str, Matched],
    present: Mapping[str, bool],
    settings: EvalSettings,
) -> EvalResult:
    """Advance one rule by one evaluation. `present[fp]` is False when a vanished firing series' target is gone."""
    run = _Run(rule, prev, now, settings)
    for fp, m in matched.items():
        run.matched(fp, m)
    for fp, a in list(run.alerts.items()):
        if fp not in matched:
            run.missing(fp, a, present.get(fp, True))
    for fp in matched:
        run.promote(fp)
    run.update_flapping()
    return EvalResult(RuleState(run.alerts, now, ""), tuple(run.transitions))


def evaluate_failed(prev: RuleState, now: float, error: str) -> RuleState:
    """A failed query changes nothing but the error: no alert resolves because Prometheus did not answer."""
    return replace(prev, last_eval=now, last_error=error or "query failed")


def shift_for_downtime(prev: RuleState, now: float, interval_s: float) -> RuleState:
    """Downtime of the worker does not count toward `for`: pending timers move forward by the gap."""
    if prev.last_eval is None:
        return prev
    gap = now - prev.last_eval - interval_s
    if gap <= interval_s:
        return prev
    alerts = {
        fp: replace(a, active_at=a.active_at + gap) if a.state == "pending" else a for fp, a in prev.alerts.items()
    }
    return replace(prev, alerts=alerts)
