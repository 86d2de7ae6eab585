"""Replay a rule over past data (a range query at the group's interval) through the state machine."""

from __future__ import annotations

import math
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


def _ms(ts: float) -> int:
    return round(ts * 1000)


def samples_by_time(matrix: Matrix) -> dict[int, list[Sample]]:
    """The matrix as evaluation instants (ms) -> the samples at that instant.

    Prometheus answers a range query at `start + k * step`, with the times rounded to milliseconds:
    matching on the rounded time (not float equality with a recomputed instant) finds every sample.
    """
    out: dict[int, list[Sample]] = {}
    for labels, values in matrix:
        for t, v in values:
            out.setdefault(_ms(t), []).append(Sample(labels, v))
    return out


def align(start: float, end: float, step: float) -> tuple[float, float]:
    """The range on the evaluation grid (multiples of `step`, as the engine's slots are)."""
    return math.ceil(start / step) * step, math.floor(end / step) * step


def backtest(rule: AlertRule, matrix: Matrix, start: float, end: float, step: float) -> list[Episode]:
    """Episodes the rule would have produced between `start` and `end` evaluated every `step` seconds."""
    settings = EvalSettings(flap_threshold=10**9)
    state = RuleState()
    open_: dict[str, tuple[dict[str, str], float]] = {}
    done: list[Episode] = []
    by_time = samples_by_time(matrix)
    for k in range(round((end - start) / step) + 1):
        ts = start + k * step
        matched = match_results(rule, by_time.get(_ms(ts), []), settings)
        result = evaluate(rule, state, ts, matched, {}, settings)
        state = result.state
        for t in result.transitions:
            if t.to_state == "firing":
                open_[t.fingerprint] = (dict(t.labels), t.at)
            elif t.from_state == "firing" and t.fingerprint in open_:
                labels, fired = open_.pop(t.fingerprint)
                done.append(Episode(labels, fired, t.at))
    done.extend(Episode(labels, fired, None) for labels, fired in open_.values())
    return sorted(done, key=lambda e: e.fired_at)
