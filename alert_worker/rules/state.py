"""Per-series alert state as the evaluator keeps it (JSON round-trip for the state store)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

State = Literal["inactive", "pending", "firing"]


def fingerprint(labels: Mapping[str, str]) -> str:
    """Stable id of a label set (order-independent)."""
    body = json.dumps(sorted(labels.items()), separators=(",", ":"))
    return hashlib.sha256(body.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class AlertInstance:
    """One rule x label set. `state` follows Prometheus; `no_data` and `flapping` are Heron's."""

    fingerprint: str
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    state: State
    active_at: float
    value: float = 0.0
    fired_at: float | None = None
    resolved_at: float | None = None
    keep_firing_since: float | None = None
    no_data: bool = False
    flips: tuple[float, ...] = ()
    flapping: bool = False

    def to_dict(self) -> dict[str, Any]:
        # Written out by hand: dataclasses.asdict deep-copies every field and was a third of a cycle.
        return {
            "fingerprint": self.fingerprint,
            "labels": dict(self.labels),
            "annotations": dict(self.annotations),
            "state": self.state,
            "active_at": self.active_at,
            "value": self.value,
            "fired_at": self.fired_at,
            "resolved_at": self.resolved_at,
            "keep_firing_since": self.keep_firing_since,
            "no_data": self.no_data,
            "flips": list(self.flips),
            "flapping": self.flapping,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AlertInstance:
        values = dict(data)
        values["flips"] = tuple(values.get("flips", ()))
        return cls(**values)


@dataclass(frozen=True)
class RuleState:
    """Everything the evaluator remembers about one rule between evaluations."""

    alerts: Mapping[str, AlertInstance] = field(default_factory=dict)
    last_eval: float | None = None
    last_error: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "alerts": {fp: a.to_dict() for fp, a in self.alerts.items()},
            "last_eval": self.last_eval,
            "last_error": self.last_error,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RuleState:
        alerts = {fp: AlertInstance.from_dict(a) for fp, a in dict(data.get("alerts", {})).items()}
        return cls(alerts, data.get("last_eval"), str(data.get("last_error", "")))


@dataclass(frozen=True)
class Transition:
    """A state change of one alert instance, as history records it."""

    rule: str
    fingerprint: str
    labels: Mapping[str, str]
    from_state: str
    to_state: str
    at: float
    value: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "fingerprint": self.fingerprint,
            "labels": dict(self.labels),
            "from_state": self.from_state,
            "to_state": self.to_state,
            "at": self.at,
            "value": self.value,
        }
