"""Replay a rule over past data (a range query at the group's interval) through the state machine."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from alert_worker.rules.evaluator import EvalSettings, Sample, evaluate, match_results
from alert_worker.rules.model import AlertRule
from alert_worker.rules.state import RuleState

Matrix = Sequence[tuple[dict[str, str], Sequence[tuple[float, float]]]]


@dataclass(frozen=True)
class Episode:
    """One firing period of one series: when it would have fired and resolved (None: still firing)."""

    labels: dict[str, str]
    fired_at: float
    resolved_at: float | None


def samples_at(matrix: Matrix, ts: float) -> list[Sample]:
    out = []
    for labels, values in matrix:
        for t, v in values:
            if abs(t - ts) < 1e-6:
                out.append(Sample(labels, v))
                break
    return out


def backtest(rule: AlertRule, matrix: Matrix, start: float, end: float, step: float) -> list[Episode]:
    """Episodes the rule would have produced between `start` and `end` evaluated every `step` seconds."""
    settings = EvalSettings(flap_threshold=10**9)
    state = RuleState()
    open_: dict[str, tuple[dict[str, str], float]] = {}
    done: list[Episode] = []
    ts = start
    while ts <= end + 1e-6:
        matched = match_results(rule, samples_at(matrix, ts), settings)
        result = evaluate(rule, state, ts, matched, {}, settings)
        state = result.state
        for t in result.transitions:
            if t.to_state == "firing":
                open_[t.fingerprint] = (dict(t.labels), t.at)
            elif t.from_state == "firing" and t.fingerprint in open_:
                labels, fired = open_.pop(t.fingerprint)
                done.append(Episode(labels, fired, t.at))
        ts += step
    done.extend(Episode(labels, fired, None) for labels, fired in open_.values())
    return sorted(done, key=lambda e: e.fired_at)
